package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/blakesmith/ar"
	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/ulikunitz/xz"
)

// Why debforge writes data.tar itself: nfpm builds it in memory and
// compresses it on one core, and it always ships parent directories, so
// leaving out /opt took a second decompress/compress pass (cni-plugins:
// 38 s of CPU). Here data.tar streams once from the prepared content list
// (nfpm still validates it, adds parent directories, sets modes, owners
// and mtimes, and renders the control archive) through a parallel gzip
// whose bytes depend only on the input: fixed 1 MiB blocks, each
// deflated with the previous block's tail as dictionary, so the output is
// the same on every run and machine whatever the core count.

// gzipBlockSize and gzipLevel fix the bytes of every package (they are
// part of the debforge binary, hence of the cache key). Level 8 of
// klauspost's deflate gives the size nfpm's level 9 (Go's compress/flate)
// gave, at a quarter of the CPU of its level 9: 50 MB of Go binaries
// compress to 18.04 MB in 1.6 s of CPU, against 17.99 MB in 6.0 s.
const (
	gzipBlockSize = 1 << 20
	gzipLevel     = 8
)

// dataTar is the compressed data.tar written to a scratch file.
type dataTar struct {
	name    string // ar member name, e.g. data.tar.gz
	md5sums []byte // the control archive's md5sums
}

// writeData streams info's prepared contents into w as data.tar,
// compressed as compression says, leaving out the drop entries.
func writeData(w io.Writer, info *nfpm.Info, drop []string) (dataTar, error) {
	var d dataTar
	zw, name, err := compressor(w, info.Deb.Compression)
	if err != nil {
		return d, err
	}
	d.name = name
	tw := tar.NewWriter(zw)
	var md5s bytes.Buffer
	for _, ct := range info.Contents {
		if ct.Type == files.TypeRPMGhost {
			continue
		}
		h := tarHeader(ct, info.MTime)
		if slices.Contains(drop, h.Name) {
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return d, fmt.Errorf("data.tar: %s: %w", h.Name, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		sum, n, err := copyFile(tw, ct.Source)
		if err != nil {
			return d, fmt.Errorf("data.tar: %s: %w", h.Name, err)
		}
		if n != h.Size {
			return d, fmt.Errorf("data.tar: %s changed while packaging (%d bytes, then %d)", ct.Source, h.Size, n)
		}
		fmt.Fprintf(&md5s, "%x  %s\n", sum, files.AsRelativePath(h.Name))
	}
	if err := tw.Close(); err != nil {
		return d, err
	}
	if err := zw.Close(); err != nil {
		return d, err
	}
	d.md5sums = md5s.Bytes()
	return d, nil
}

func copyFile(w io.Writer, src string) ([]byte, int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	return h.Sum(nil), n, err
}

// compressor wraps w as the data.tar compression asks (nfpm's names; xz
// and zstd at nfpm's levels).
func compressor(w io.Writer, compression string) (io.WriteCloser, string, error) {
	switch compression {
	case "", "gzip":
		z, err := pgzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			return nil, "", err
		}
		// gzip -n: no name, mtime 0, OS unknown, as compress/gzip writes.
		z.ModTime, z.OS = time.Unix(0, 0), 255
		if err := z.SetConcurrency(gzipBlockSize, 2*runtime.GOMAXPROCS(0)); err != nil {
			return nil, "", err
		}
		return z, "data.tar.gz", nil
	case "xz":
		z, err := xz.NewWriter(w)
		return z, "data.tar.xz", err
	case "zstd":
		z, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
		return z, "data.tar.zst", err
	case "none":
		return nopCloser{w}, "data.tar", nil
	}
	return nil, "", fmt.Errorf("unknown compression %q", compression)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// tarHeader is nfpm's data.tar header for a prepared content entry.
func tarHeader(ct *files.Content, mtime time.Time) *tar.Header {
	fm := ct.Mode()
	mt := ct.ModTime()
	if mt.IsZero() {
		mt = mtime
	}
	h := &tar.Header{
		Name: files.AsExplicitRelativePath(ct.Destination), ModTime: mt, Mode: int64(fm & 0o7777),
		Uname: ct.FileInfo.Owner, Gname: ct.FileInfo.Group, Format: tar.FormatGNU,
	}
	switch {
	case ct.Type == files.TypeSymlink || fm&fs.ModeSymlink != 0:
		// A link is a link whatever its target is on this host.
		h.Typeflag = tar.TypeSymlink
		h.Linkname = ct.Source
		h.Mode = 0o777
		h.ModTime = mtime
	case ct.IsDir() || fm&fs.ModeDir != 0:
		h.Typeflag = tar.TypeDir
		h.ModTime = mtime
	default:
		h.Typeflag = tar.TypeReg
		h.Size = ct.Size()
	}
	for _, bit := range []struct {
		m fs.FileMode
		t int64
	}{{fs.ModeSetuid, 0o4000}, {fs.ModeSetgid, 0o2000}, {fs.ModeSticky, 0o1000}} {
		if fm&bit.m != 0 {
			h.Mode |= bit.t
		}
	}
	return h
}

// controlArchive has nfpm render control.tar.gz (control, conffiles,
// maintainer scripts) from info without its data, then puts in the
// md5sums of the data.tar written here and Installed-Size (KiB, see
// installedSizeKiB).
func controlArchive(info *nfpm.Info, d dataTar, installedKiB int64) ([]byte, error) {
	ctl := *info
	ctl.Contents = nil
	for _, ct := range info.Contents {
		switch ct.Type {
		case files.TypeConfig, files.TypeConfigNoReplace, files.TypeConfigMissingOK:
			ctl.Contents = append(ctl.Contents, ct) // for conffiles
		}
	}
	ctl.Deb.Compression = "none"
	var pkg bytes.Buffer
	if err := deb.Default.Package(&ctl, &pkg); err != nil {
		return nil, fmt.Errorf("nfpm: %w", err)
	}
	r := ar.NewReader(&pkg)
	for {
		h, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("nfpm output: no control.tar.gz: %w", err)
		}
		if h.Name == "control.tar.gz" || h.Name == "control.tar.gz/" {
			return patchControl(r, d.md5sums, installedKiB)
		}
	}
}

// patchControl copies a control.tar.gz, replacing md5sums and the control
// file's Installed-Size, recompressed as nfpm does (gzip default level).
func patchControl(in io.Reader, md5sums []byte, installedKiB int64) ([]byte, error) {
	zr, err := gzip.NewReader(in)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tr, tw := tar.NewReader(zr), tar.NewWriter(zw)
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
		switch h.Name {
		case "./md5sums":
			body = md5sums
		case "./control":
			if !installedSizeRe.Match(body) {
				return nil, fmt.Errorf("nfpm's control file has no Installed-Size")
			}
			body = installedSizeRe.ReplaceAll(body, []byte("Installed-Size: "+strconv.FormatInt(installedKiB, 10)))
		}
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// writeDeb writes the ar archive: debian-binary, the control archive and
// the data.tar streamed from data (size bytes), every member dated mtime.
func writeDeb(w io.Writer, mtime time.Time, control []byte, dataName string, data io.Reader, size int64) error {
	aw := ar.NewWriter(w)
	if err := aw.WriteGlobalHeader(); err != nil {
		return err
	}
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", control}} {
		if err := aw.WriteHeader(&ar.Header{Name: m.name, Size: int64(len(m.body)), Mode: 0o644, ModTime: mtime}); err != nil {
			return err
		}
		if _, err := aw.Write(m.body); err != nil {
			return err
		}
	}
	if err := aw.WriteHeader(&ar.Header{Name: dataName, Size: size, Mode: 0o644, ModTime: mtime}); err != nil {
		return err
	}
	// Straight to w: ar.Writer pads after every odd-sized Write call, which
	// would corrupt a streamed body.
	if n, err := io.Copy(w, data); err != nil || n != size {
		return fmt.Errorf("copy %s: %d of %d bytes: %v", dataName, n, size, err)
	}
	if size%2 == 1 {
		_, err := w.Write([]byte{'\n'})
		return err
	}
	return nil
}
