package packaging

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/blakesmith/ar"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/debforge/debforge/packaging/debfile"
)

// baseDirs are directories the base system creates (base-files' postinst)
// but no package owns. A package that ships an entry for one of them owns
// it, and purging that package deletes it: piuparts catches exactly this
// for /opt when CNI plugins go to /opt/cni/bin. nfpm always adds parent
// directories, so such entries are dropped from data.tar afterwards.
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

// dropDirs copies the .deb at src to w, leaving the given directory
// entries out of data.tar and compressing it again the same way. Only the
// compressed data.tar is held in memory (ar needs its size up front).
func dropDirs(src string, w io.Writer, drop []string, installedKiB int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	r := ar.NewReader(bufio.NewReaderSize(f, 1<<20))
	aw := ar.NewWriter(w)
	if err := aw.WriteGlobalHeader(); err != nil {
		return err
	}
	for {
		h, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("rewrite data.tar: %w", err)
		}
		hdr := *h
		hdr.Name = strings.TrimRight(hdr.Name, "/ ")
		if strings.HasPrefix(hdr.Name, "data.tar") && len(drop) == 0 {
			// Nothing to drop: stream the payload through unchanged.
			if err := aw.WriteHeader(&hdr); err != nil {
				return err
			}
			// Past ar.Writer, which pads after every odd-sized Write
			// rather than once at the end of the member.
			if _, err := io.CopyN(w, r, hdr.Size); err != nil {
				return fmt.Errorf("copy %s: %w", hdr.Name, err)
			}
			if hdr.Size%2 == 1 {
				if _, err := w.Write([]byte{'\n'}); err != nil {
					return err
				}
			}
			continue
		}
		var body []byte
		switch {
		case strings.HasPrefix(hdr.Name, "data.tar"):
			body, err = filterTar(hdr.Name, r, drop)
		case strings.HasPrefix(hdr.Name, "control.tar"):
			body, err = setInstalledSize(hdr.Name, r, installedKiB)
		default:
			body, err = io.ReadAll(r) // debian-binary: small
		}
		if err != nil {
			return fmt.Errorf("rewrite %s: %w", hdr.Name, err)
		}
		hdr.Size = int64(len(body))
		if err := aw.WriteHeader(&hdr); err != nil {
			return err
		}
		// ar's Write counts its padding byte, which io.Copy rejects.
		if _, err := aw.Write(body); err != nil {
			return err
		}
	}
}

// filterTar decompresses a data.tar member by its name's suffix, drops the
// given entries and compresses the rest again the same way.
func filterTar(name string, in io.Reader, drop []string) ([]byte, error) {
	dr, closeFn, err := debfile.Decompressor(name, in)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var buf bytes.Buffer
	var zw io.WriteCloser
	switch {
	case strings.HasSuffix(name, ".gz"):
		// Level 9, as nfpm uses for its own gzip data.tar.
		zw, err = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	case strings.HasSuffix(name, ".xz"):
		zw, err = xz.NewWriter(&buf)
	case strings.HasSuffix(name, ".zst"):
		zw, err = zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	default:
		zw = nopCloser{&buf}
	}
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(dr)
	tw := tar.NewWriter(zw)
next:
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, d := range drop {
			if h.Name == d {
				continue next
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
