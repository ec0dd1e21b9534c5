package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
)

// ErrUnsafePath marks an archive entry that would land outside the target.
var ErrUnsafePath = errors.New("archive entry escapes the target directory")

// entryPath maps an archive entry name, minus strip leading elements, to a
// slash-separated path relative to the target. It returns "" for entries
// that strip away entirely.
func entryPath(name string, strip int) (string, error) {
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
	return strings.Join(parts[strip:], "/"), nil
}

// tree writes entries beneath one directory. Checking names and link
// targets as text is not enough: a link made through an earlier link
// lands somewhere its text does not say. So every file operation goes
// through an os.Root (the kernel resolves each path beneath the target,
// whatever links earlier entries laid), no entry is written through a link
// (real archives never need it, and the error is clearer than the Root's),
// and every link must still resolve inside once the tree is complete.
type tree struct {
	root  *os.Root
	dirs  map[string]bool     // paths known to be real directories
	open  map[string]*os.Root // some of them, opened: see at
	links []string            // symlinks made, resolved once the tree is complete
	times []stamp             // directory mtimes, set last: children change them
	// budget is how many bytes of file content the tree may receive in
	// all (0: no limit); written counts them.
	budget, written int64
}

// TooLargeError means an archive unpacks to more than its limit: a small
// download can expand to fill the disk.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the source unpacks to more than limits.unpacked_size (%s)", spec.FormatBytes(e.Limit))
}

// Hint says how to raise the limit.
func (e *TooLargeError) Hint() string {
	return "if the source really is that large, raise limits.unpacked_size in the spec, e.g. limits: {unpacked_size: 16GiB}"
}

type stamp struct {
	rel   string
	mtime time.Time
}

func openTree(dst string) (*tree, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return nil, err
	}
	return &tree{root: root, dirs: map[string]bool{".": true}, open: map[string]*os.Root{}}, nil
}

// maxOpenDirs bounds the directory handles that at keeps open.
const maxOpenDirs = 128

// at returns a Root on rel's parent directory (made and checked by
// mkdirAll) and rel's last element. An entry is then one system call
// beneath its directory instead of a walk from the top for every file;
// a Root on a subdirectory is held beneath it just as the top one is.
func (t *tree) at(rel string) (*os.Root, string, error) {
	dir, base := path.Split(rel)
	dir = path.Clean(dir)
	if dir == "." {
		return t.root, base, nil
	}
	if r := t.open[dir]; r != nil {
		return r, base, nil
	}
	if len(t.open) >= maxOpenDirs {
		t.closeDirs()
	}
	r, err := t.root.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}
	t.open[dir] = r
	return r, base, nil
}

func (t *tree) closeDirs() {
	for k, r := range t.open {
		r.Close()
		delete(t.open, k)
	}
}

// mkdirAll makes rel and its parents, refusing any that is a symlink.
func (t *tree) mkdirAll(rel string) error {
	if t.dirs[rel] {
		return nil
	}
	if err := t.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	parent, base, err := t.at(rel)
	if err != nil {
		return err
	}
	fi, err := parent.Lstat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := parent.Mkdir(base, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symlink; no entry may be written through one", ErrUnsafePath, rel)
	case !fi.IsDir():
		return fmt.Errorf("%s: not a directory", rel)
	}
	t.dirs[rel] = true
	return nil
}

func (t *tree) writeFile(rel string, r io.Reader, perm os.FileMode, mtime time.Time) error {
	if err := t.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	// Only the owner's write bit is added; modes come from the archive.
	// O_EXCL: an entry never writes into an existing file or through a link.
	dir, base, err := t.at(rel)
	if err != nil {
		return err
	}
	out, err := dir.OpenFile(base, os.O_CREATE|os.O_WRONLY|os.O_EXCL, perm|0o200)
	if err != nil {
		return err
	}
	if t.budget > 0 {
		r = io.LimitReader(r, t.budget-t.written+1)
	}
	n, err := io.Copy(out, r)
	t.written += n
	if err == nil && t.budget > 0 && t.written > t.budget {
		err = &TooLargeError{Limit: t.budget}
	}
	if err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return t.chtimes(rel, mtime)
}

// chtimes keeps the archive's mtime: release tarballs rely on it (an
// autotools tarball whose configure looks older than configure.ac makes
// make re-run aclocal). Packaging sets its own mtime on every file.
func (t *tree) chtimes(rel string, mtime time.Time) error {
	if mtime.IsZero() {
		return nil
	}
	dir, base, err := t.at(rel)
	if err != nil {
		return err
	}
	return dir.Chtimes(base, mtime, mtime)
}

func (t *tree) symlink(rel, target string) error {
	if err := t.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	dir, base, err := t.at(rel)
	if err != nil {
		return err
	}
	if err := dir.Symlink(target, base); err != nil {
		return err
	}
	t.links = append(t.links, rel)
	return nil
}

// checkLinks refuses a link that resolves outside the tree now that every
// entry is in place (a link can point through one made after it). A link
// whose target does not exist is left alone: it leads nowhere.
func (t *tree) checkLinks() error {
	for _, l := range t.links {
		_, err := t.root.Stat(l)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) && !errors.Is(err, syscall.ELOOP) {
			target, _ := t.root.Readlink(l)
			return fmt.Errorf("%w: symlink %s -> %s resolves outside the tree (%v)", ErrUnsafePath, l, target, err)
		}
	}
	return nil
}

// close sets directory mtimes, deepest first, and releases the root.
func (t *tree) close() error {
	var err error
	for i := len(t.times) - 1; i >= 0; i-- {
		if cerr := t.chtimes(t.times[i].rel, t.times[i].mtime); cerr != nil && err == nil {
			err = cerr
		}
	}
	t.closeDirs()
	if cerr := t.root.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkLink refuses a symlink at rel whose target, read as text from its
// real parent directory, leaves the tree: the clear error for the common
// case. checkLinks catches the rest.
func checkLink(rel, target string) error {
	if path.IsAbs(target) {
		return fmt.Errorf("%w: symlink %s points to absolute %q", ErrUnsafePath, rel, target)
	}
	resolved := path.Join(path.Dir(rel), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("%w: symlink %s points outside to %q", ErrUnsafePath, rel, target)
	}
	return nil
}

// ExtractTar unpacks a (possibly compressed) tar archive into dst,
// dropping strip leading path elements and keeping the archive's mtimes.
// Entries that escape dst (absolute, "..", written through a link, or
// links resolving out) stop the extraction with ErrUnsafePath.
func ExtractTar(archive, dst string, strip int) error {
	return extractTar(archive, dst, strip, 0)
}

func extractTar(archive, dst string, strip int, maxBytes int64) (err error) {
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
	t, err := openTree(dst)
	if err != nil {
		return err
	}
	t.budget = maxBytes
	defer func() {
		if cerr := t.close(); err == nil {
			err = cerr
		}
	}()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			// Read the compressed stream to its end: its checksum (gzip's
			// CRC, xz's check and index) comes after the tar's end, and a
			// corrupt or cut archive must fail, not unpack in part.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return fmt.Errorf("extract %s: %w", filepath.Base(archive), err)
			}
			return t.checkLinks()
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", filepath.Base(archive), err)
		}
		rel, err := entryPath(h.Name, strip)
		if err != nil {
			return err
		}
		if rel == "" {
			continue
		}
		if err := t.writeEntry(rel, h, tr, strip); err != nil {
			return fmt.Errorf("extract %s: %w", h.Name, err)
		}
	}
}

func (t *tree) writeEntry(rel string, h *tar.Header, r io.Reader, strip int) error {
	switch h.Typeflag {
	case tar.TypeDir:
		if err := t.mkdirAll(rel); err != nil {
			return err
		}
		t.times = append(t.times, stamp{rel, h.ModTime})
		return nil
	case tar.TypeReg:
		return t.writeFile(rel, r, h.FileInfo().Mode().Perm(), h.ModTime)
	case tar.TypeSymlink:
		if err := checkLink(rel, h.Linkname); err != nil {
			return err
		}
		return t.symlink(rel, h.Linkname)
	case tar.TypeLink:
		old, err := entryPath(h.Linkname, strip)
		if err != nil || old == "" {
			return fmt.Errorf("%w: hard link to %q", ErrUnsafePath, h.Linkname)
		}
		if err := t.mkdirAll(path.Dir(rel)); err != nil {
			return err
		}
		// The Root resolves old beneath the tree too; a link named as old
		// is linked itself, not followed. A hard link to a symlink is a
		// second symlink of the same text in another directory, where a
		// relative target can lead elsewhere: it is checked as one.
		if fi, err := t.root.Lstat(old); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			target, err := t.root.Readlink(old)
			if err != nil {
				return err
			}
			if err := checkLink(rel, target); err != nil {
				return fmt.Errorf("hard link %s to symlink %s: %w", rel, old, err)
			}
			t.links = append(t.links, rel)
		}
		return t.root.Link(old, rel)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("unsupported entry type %q", string(h.Typeflag))
	}
}

// decompress detects gzip, bzip2, xz and zstd by magic bytes. xz and zstd
// go through the system tools (xz-utils, zstd) to keep dependencies small.
func decompress(f *os.File) (io.Reader, func(), error) {
	br := bufio.NewReader(f)
	magic, _ := br.Peek(6)
	switch {
	case len(magic) >= 3 && string(magic[:3]) == "BZh":
		return bzip2.NewReader(br), func() {}, nil
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return debfile.Decompressor(".gz", br)
	case len(magic) >= 6 && string(magic) == "\xfd7zXZ\x00":
		// The Go libraries the .deb reader uses, errors and all: an
		// external xz's exit status was never looked at.
		return debfile.Decompressor(".xz", br)
	case len(magic) >= 4 && string(magic[:4]) == "\x28\xb5\x2f\xfd":
		return debfile.Decompressor(".zst", br)
	}
	return br, func() {}, nil
}

// ExtractZip unpacks a module zip into dst, dropping the leading
// "module@version/" element. Zip entries carry no links worth keeping.
func ExtractZip(archive, dst string) error {
	return extractZip(archive, dst, 0)
}

func extractZip(archive, dst string, maxBytes int64) (err error) {
	z, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer z.Close()
	t, err := openTree(dst)
	if err != nil {
		return err
	}
	t.budget = maxBytes
	defer func() {
		if cerr := t.close(); err == nil {
			err = cerr
		}
	}()
	for _, f := range z.File {
		rel, err := entryPath(f.Name, prefixDepth(f.Name))
		if err != nil {
			return err
		}
		if rel == "" || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if f.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%w: symlink %q in module zip", ErrUnsafePath, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = t.writeFile(rel, rc, 0o644, time.Time{})
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
