// Package filehash is the one place files are hashed for pins, keys and
// checksums (sources, build roots, SBOMs), so they all agree on the form:
// lower-case hex SHA-256.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// SHA256 returns the hex SHA-256 of the file at path.
func SHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Tree returns the hex SHA-256 of the tree at dir: every entry's path
// (in lexical order), type and permission bits, a symlink's target and a
// regular file's content hash. Owners and times are left out: they do not
// change what a compile of the tree produces.
func Tree(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %v", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " -> %q", target)
		case fi.Mode().IsRegular():
			sum, err := SHA256(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, " %s", sum)
		}
		fmt.Fprintln(h)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash the tree %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
