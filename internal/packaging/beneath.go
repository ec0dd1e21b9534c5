package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/debforge/debforge/internal/spec"
)

// openBeneath opens name (slash-separated, relative to dir) with every
// path element resolved beneath dir by an os.Root. Sources keep upstream
// links as links (a git checkout may hold COPYING -> /etc/shadow or
// docs -> /etc), so this is where the host stays out of the package: a
// link that leads out of the tree is an error, never followed. Links that
// stay inside are followed as usual.
func openBeneath(dir, name string) (*os.File, fs.FileInfo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ELOOP) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%s leads outside the source tree through a link, and debforge never follows one out: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is a directory (list files one by one)", name)
	}
	return f, st, nil
}

// readBeneath is openBeneath and read it all: license texts, files with
// replacements.
func readBeneath(dir, name string) ([]byte, error) {
	f, _, err := openBeneath(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// copyContent copies a package.contents src from the source tree into
// dst, applying the entry's replacements. nfpm then reads the copy, never
// a path into the source tree that it would resolve by itself.
func copyContent(srcDir string, ct spec.Content, dst string) (fs.FileMode, error) {
	f, st, err := openBeneath(srcDir, ct.Src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	var r io.Reader = f
	if len(ct.Replace) > 0 {
		data, err := io.ReadAll(f)
		if err != nil {
			return 0, err
		}
		for _, rp := range ct.Replace {
			data = bytes.ReplaceAll(data, []byte(rp.From), []byte(rp.To))
		}
		r = bytes.NewReader(data)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return 0, err
	}
	return st.Mode(), out.Close()
}
