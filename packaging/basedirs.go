package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/blakesmith/ar"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
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

// dropDirs rewrites a .deb whose data.tar is uncompressed, leaving out the
// given directory entries and compressing data.tar as asked.
func dropDirs(deb []byte, drop []string, compression string) ([]byte, error) {
	type member struct {
		hdr  ar.Header
		body []byte
	}
	var members []member
	r := ar.NewReader(bytes.NewReader(deb))
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rewrite data.tar: %w", err)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		members = append(members, member{*h, body})
	}
	var out bytes.Buffer
	w := ar.NewWriter(&out)
	if err := w.WriteGlobalHeader(); err != nil {
		return nil, err
	}
	for _, m := range members {
		name := strings.TrimRight(m.hdr.Name, "/ ")
		if name == "data.tar" {
			body, ext, err := filterTar(m.body, drop, compression)
			if err != nil {
				return nil, fmt.Errorf("rewrite data.tar: %w", err)
			}
			m.body, m.hdr.Name = body, "data.tar"+ext
		}
		m.hdr.Size = int64(len(m.body))
		m.hdr.ModTime = m.hdr.ModTime.Truncate(time.Second)
		if err := w.WriteHeader(&m.hdr); err != nil {
			return nil, err
		}
		if _, err := w.Write(m.body); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

func filterTar(data []byte, drop []string, compression string) ([]byte, string, error) {
	var buf bytes.Buffer
	var zw io.WriteCloser
	ext := ""
	var err error
	switch compression {
	case "gzip":
		// Level 9, as nfpm uses for its own gzip data.tar.
		zw, err = gzip.NewWriterLevel(&buf, gzip.BestCompression)
		ext = ".gz"
	case "xz":
		zw, err = xz.NewWriter(&buf)
		ext = ".xz"
	case "zstd":
		zw, err = zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
		ext = ".zst"
	case "none":
		zw = nopCloser{&buf}
	default:
		return nil, "", fmt.Errorf("unknown compression %q", compression)
	}
	if err != nil {
		return nil, "", err
	}
	tr := tar.NewReader(bytes.NewReader(data))
	tw := tar.NewWriter(zw)
next:
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		for _, d := range drop {
			if h.Name == d {
				continue next
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, "", err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), ext, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
