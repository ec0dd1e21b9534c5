package packaging

import (
	"regexp"
	"strings"

	"github.com/goreleaser/nfpm/v2/files"
)

// installedSizeKiB estimates the installed size the way dpkg-gencontrol
// does: every regular file and symlink counts its size rounded up to whole
// KiB, every other object (directories, the package root) 1 KiB. nfpm
// instead sums the bytes and rounds down once, so a package of small
// files claimed "Installed-Size: 0". contents is the list nfpm prepared
// (implicit parent directories included); dropped are the tar
// names of directories left out of data.tar.
func installedSizeKiB(contents files.Contents, dropped []string) int64 {
	kib := func(n int64) int64 { return max((n+1023)/1024, 1) }
	total := int64(1) // the package root, "./"
	for _, c := range contents {
		switch c.Type {
		case files.TypeRPMGhost:
		case files.TypeDir, files.TypeImplicitDir:
			name := "." + strings.TrimSuffix(c.Destination, "/") + "/"
			dropThis := false
			for _, d := range dropped {
				dropThis = dropThis || d == name
			}
			if !dropThis {
				total++
			}
		case files.TypeSymlink:
			total += kib(int64(len(c.Source)))
		default:
			size := int64(0)
			if c.FileInfo != nil {
				size = c.FileInfo.Size
			}
			total += (size + 1023) / 1024 // an empty file counts 0, as in dpkg-gencontrol
		}
	}
	return total
}

var installedSizeRe = regexp.MustCompile(`(?m)^Installed-Size: [0-9]+$`)
