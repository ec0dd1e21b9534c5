package buildroot

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/execx"
)

// A BuildKit worker receives a root as tarballs it asks for by hash: a
// base root as its own tarball, a derived root as the base's tarball plus
// a layer of what derivation changed. A worker that has the base (from
// any root of the target) is sent only the layer.

// layerTar is a derived root's layer, packed on first use by a worker.
const layerTar = "layer.tar"

// Layer is what a derived root adds to its base: a tarball of its every
// directory and every entry that is not the base's own file at the same
// path (new, or replaced by dpkg), and the base's paths it lacks.
type Layer struct {
	Tar, SHA256 string
	Deleted     []string // absolute paths, parents before children
}

// Layer returns r's layer over its base, packing it on first use and
// keeping it until the root is derived again; a base root has none.
func (s *Store) Layer(ctx context.Context, r *Root, log io.Writer) (*Layer, error) {
	if r.Base == "" {
		return nil, nil
	}
	dir := filepath.Dir(r.FS)
	l := &Layer{Tar: filepath.Join(dir, layerTar)}
	sum, errSum := os.ReadFile(l.Tar + ".sha256")
	deleted, errDel := os.ReadFile(l.Tar + ".deleted")
	if errSum == nil && errDel == nil && exists(l.Tar) {
		l.SHA256 = strings.TrimSpace(string(sum))
		l.Deleted = strings.FieldsFunc(string(deleted), func(r rune) bool { return r == '\n' })
		return l, nil
	}
	entries, gone, err := layerEntries(r.Base, r.FS)
	if err != nil {
		return nil, err
	}
	list := filepath.Join(dir, layerTar+".list")
	if err := os.WriteFile(list, []byte(strings.Join(entries, "\x00")+"\x00"), 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(list)
	tmp := l.Tar + ".tmp"
	cmd := execx.Cmd{Args: []string{"tar", "-C", r.FS, "--numeric-owner", "--xattrs", "--xattrs-include=*", "--no-recursion", "--null", "-T", list, "-cf", tmp}}
	if err := execx.RunLogged(ctx, s.Runner, cmd, log); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("pack the layer of build root %s: %w", r.Target, err)
	}
	if l.SHA256, err = hashFile(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, l.Tar); err != nil {
		return nil, err
	}
	l.Deleted = gone
	if err := atomicfile.Write(l.Tar+".deleted", []byte(strings.Join(gone, "\n")), 0o644); err != nil {
		return nil, err
	}
	return l, atomicfile.Write(l.Tar+".sha256", []byte(l.SHA256+"\n"), 0o644)
}

// layerEntries lists, relative to tree ("./…", in walk order), every
// directory of tree and every other entry that is not base's file at the
// same path; and, as absolute paths, the topmost paths of base that tree
// lacks.
func layerEntries(base, tree string) (entries, gone []string, err error) {
	err = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		if rel == "." {
			return nil
		}
		if !d.IsDir() {
			if mine, err := os.Lstat(p); err != nil {
				return err
			} else if theirs, err := os.Lstat(filepath.Join(base, rel)); err == nil && os.SameFile(mine, theirs) {
				return nil
			}
		}
		entries = append(entries, "./"+rel)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("compare build root %s with its base: %w", tree, err)
	}
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		if _, err := os.Lstat(filepath.Join(tree, rel)); os.IsNotExist(err) {
			gone = append(gone, "/"+rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("compare build root %s with its base: %w", tree, err)
	}
	for _, g := range gone {
		if strings.Contains(g, "\n") {
			return nil, nil, fmt.Errorf("build root %s: the base path %q has a newline in its name", tree, g)
		}
	}
	return entries, gone, nil
}
