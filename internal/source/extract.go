package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// ErrUnsafePath marks an archive entry that would land outside the target.
var ErrUnsafePath = errors.New("archive entry escapes the target directory")

// safeJoin maps an archive entry name, minus strip leading elements, to a
// path under dst. It returns "" for entries that strip away entirely.
func safeJoin(dst, name string, strip int) (string, error) {
	if path.IsAbs(name) || strings.HasPrefix(name, `\`) {
		return "", fmt.Errorf("%w: absolute path %q", ErrUnsafePath, name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: %q contains ..", ErrUnsafePath, name)
		}
	}
	clean := path.Clean(name)
	parts := strings.Split(clean, "/")
	if clean == "." || len(parts) <= strip {
		return "", nil
	}
	return filepath.Join(dst, filepath.FromSlash(strings.Join(parts[strip:], "/"))), nil
}

// checkLink refuses a symlink at linkPath (under dst) whose target leaves dst.
func checkLink(dst, linkPath, target string) error {
	if path.IsAbs(target) {
		return fmt.Errorf("%w: symlink %s points to absolute %q", ErrUnsafePath, linkPath, target)
	}
	resolved := filepath.Join(filepath.Dir(linkPath), filepath.FromSlash(target))
	rel, err := filepath.Rel(dst, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%w: symlink %s points outside to %q", ErrUnsafePath, linkPath, target)
	}
	return nil
}

// ExtractTar unpacks a (possibly compressed) tar archive into dst,
// dropping strip leading path elements. Entries that escape dst (absolute,
// "..", or links pointing out) stop the extraction with ErrUnsafePath.
func ExtractTar(archive, dst string, strip int) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	r, closeFn, err := decompress(f)
	if err != nil {
		return fmt.Errorf("extract %s: %w", filepath.Base(archive), err)
	}
	defer closeFn()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", filepath.Base(archive), err)
		}
		target, err := safeJoin(dst, h.Name, strip)
		if err != nil {
			return err
		}
		if target == "" {
			continue
		}
		if err := writeEntry(dst, target, h, tr, strip); err != nil {
			return fmt.Errorf("extract %s: %w", h.Name, err)
		}
	}
}

func writeEntry(dst, target string, h *tar.Header, r io.Reader, strip int) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(target, 0o755)
	case tar.TypeReg:
		return writeFile(target, r, h.FileInfo().Mode().Perm())
	case tar.TypeSymlink:
		if err := checkLink(dst, target, h.Linkname); err != nil {
			return err
		}
		return os.Symlink(h.Linkname, target)
	case tar.TypeLink:
		src, err := safeJoin(dst, h.Linkname, strip)
		if err != nil || src == "" {
			return fmt.Errorf("%w: hard link to %q", ErrUnsafePath, h.Linkname)
		}
		return os.Link(src, target)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("unsupported entry type %q", string(h.Typeflag))
	}
}

func writeFile(target string, r io.Reader, perm os.FileMode) error {
	// Only the owner's write bit is added; modes come from the archive.
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_EXCL, perm|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// decompress detects gzip, bzip2, xz and zstd by magic bytes. xz and zstd
// go through the system tools (xz-utils, zstd) to keep dependencies small.
func decompress(f *os.File) (io.Reader, func(), error) {
	br := bufio.NewReader(f)
	magic, _ := br.Peek(6)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		z, err := gzip.NewReader(br)
		return z, func() {}, err
	case len(magic) >= 3 && string(magic[:3]) == "BZh":
		return bzip2.NewReader(br), func() {}, nil
	case len(magic) >= 6 && string(magic) == "\xfd7zXZ\x00":
		return pipe(br, "xz", "-dc")
	case len(magic) >= 4 && string(magic[:4]) == "\x28\xb5\x2f\xfd":
		return pipe(br, "zstd", "-dc")
	}
	return br, func() {}, nil
}

func pipe(in io.Reader, name string, args ...string) (io.Reader, func(), error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = in
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, func() { _ = cmd.Wait() }, nil
}

// ExtractZip unpacks a module zip into dst, dropping the leading
// "module@version/" element. Zip entries carry no links worth keeping.
func ExtractZip(archive, dst string) error {
	z, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer z.Close()
	for _, f := range z.File {
		target, err := safeJoin(dst, f.Name, prefixDepth(f.Name))
		if err != nil {
			return err
		}
		if target == "" || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if f.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%w: symlink %q in module zip", ErrUnsafePath, f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeFile(target, rc, 0o644)
		rc.Close()
		if err != nil {
			return fmt.Errorf("extract %s: %w", f.Name, err)
		}
	}
	return nil
}

// prefixDepth is the number of path elements in "module@version/": module
// paths contain slashes, so count up to the element holding "@".
func prefixDepth(name string) int {
	for i, el := range strings.Split(name, "/") {
		if strings.Contains(el, "@") {
			return i + 1
		}
	}
	return 0
}
