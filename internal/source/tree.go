package source

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CopyTree copies src into dst, keeping modes, mtimes and symlinks (as
// links: a link pointing out of the tree is never followed here, and
// packaging refuses to read through it) and leaving out version-control
// metadata and the exclude paths (relative to src). Writes go through an
// os.Root on dst.
func CopyTree(src, dst string, exclude ...string) (err error) {
	t, err := openTree(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := t.close(); err == nil {
			err = cerr
		}
	}()
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if excluded(rel, exclude) {
			return skip(d)
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := t.mkdirAll(rel); err != nil {
				return err
			}
			t.times = append(t.times, stamp{rel, info.ModTime()})
			if rel == "." {
				return nil // dst keeps its own mode
			}
			return t.root.Chmod(rel, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return t.symlink(rel, link)
		case d.Type().IsRegular():
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			return t.writeFile(rel, in, info.Mode().Perm(), info.ModTime())
		}
		return nil
	})
}

// HashTree hashes names, modes, link targets and contents of a tree
// (without .git and the exclude paths), so a local source dir has a cache
// identity too.
func HashTree(dir string, exclude ...string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(dir, path)
		if excluded(rel, exclude) {
			return skip(d)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", rel, info.Mode())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, _ := os.Readlink(path)
			fmt.Fprintf(h, "%s\x00", link)
		case d.Type().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil)), err
}

// excluded reports whether rel (a path from filepath.Rel) is one of the
// exclude paths or beneath one.
func excluded(rel string, exclude []string) bool {
	rel = filepath.ToSlash(rel)
	for _, e := range exclude {
		if rel == e || strings.HasPrefix(rel, e+"/") {
			return true
		}
	}
	return false
}

func skip(d fs.DirEntry) error {
	if d.IsDir() {
		return filepath.SkipDir
	}
	return nil
}
