package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/goreleaser/nfpm/v2/files"

	"github.com/debforge/debforge/packaging/debfile"
)

// installedSizeKiB estimates the installed size the way dpkg-gencontrol
// does: every regular file and symlink counts its size rounded up to whole
// KiB, every other object (directories, the package root) 1 KiB. nfpm
// instead sums the bytes and rounds down once, so a package of small
// files claimed "Installed-Size: 0". contents is nfpm's list after it
// packaged (implicit parent directories included); dropped are the tar
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

// setInstalledSize rewrites the Installed-Size field of the control file
// inside a control.tar member (as nfpm writes it: gzip), keeping every
// other byte of every entry.
func setInstalledSize(name string, in io.Reader, kib int64) ([]byte, error) {
	if !strings.HasSuffix(name, ".gz") {
		return nil, fmt.Errorf("unexpected control member %s", name)
	}
	dr, closeFn, err := debfile.Decompressor(name, in)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tr := tar.NewReader(dr)
	tw := tar.NewWriter(zw)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		if strings.TrimPrefix(h.Name, "./") == "control" {
			if !installedSizeRe.Match(body) {
				return nil, fmt.Errorf("control file has no Installed-Size")
			}
			body = installedSizeRe.ReplaceAll(body, []byte("Installed-Size: "+strconv.FormatInt(kib, 10)))
			h.Size = int64(len(body))
			found = true
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("control.tar has no control file")
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
