package packaging

import (
	"strings"

	"github.com/goreleaser/nfpm/v2/files"
)

// baseDirs are directories the base system creates (base-files' postinst)
// but no package owns. A package that ships an entry for one of them owns
// it, and purging that package deletes it: piuparts catches exactly this
// for /opt when CNI plugins go to /opt/cni/bin. nfpm always adds parent
// directories, so writeData leaves such entries out of data.tar.
var baseDirs = []string{"/opt", "/srv", "/home", "/usr/local", "/var/local", "/var/opt"}

// unownedDirsIn returns the base dirs that would appear as parents of
// contents, as tar names ("./opt/"), or nil.
func unownedDirsIn(contents files.Contents) []string {
	var out []string
	for _, d := range baseDirs {
		for _, ct := range contents {
			if strings.HasPrefix(ct.Destination, d+"/") {
				out = append(out, "."+d+"/")
				break
			}
		}
	}
	return out
}
