package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/debforge/debforge/internal/executor"
	"github.com/debforge/debforge/internal/execx"
)

// Unpacker extracts fetched archives (upstream's tarballs, module zips:
// hostile input) with debforge's own extractor (debforge unpack-source),
// in a sandbox as the build uid: the host's root read-only, no network, a
// fresh /tmp, and only the source tree writable. The extractor already
// resolves every path beneath the tree (os.Root); the sandbox is the
// second wall, so a flaw in the first can still write nothing else, and
// never as root.
type Unpacker struct {
	// CacheDir holds the copy of debforge the build uid runs (libexec/)
	// and the trees being unpacked (unpack/).
	CacheDir string
	Runner   execx.Runner
	// SelfSHA256 is the hash of the running debforge binary.
	SelfSHA256 func() (string, error)
}

// Unpack extracts archive (of kind, stripping strip leading path
// components, at most maxBytes when positive) into dst, an empty
// directory Prepare made.
func (u *Unpacker) Unpack(ctx context.Context, kind, archive, dst string, strip int, maxBytes int64, log io.Writer) error {
	exe, err := u.helperExe()
	if err != nil {
		return err
	}
	tree, err := u.scratchTree(exe, archive)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	uid, gid, err := BuildIDs()
	if err != nil {
		return err
	}
	if err := os.Lchown(tree, uid, gid); err != nil {
		return err
	}
	sb := &Sandbox{Job: executor.Job{
		Root: "/",
		Env:  DefaultEnv,
		Binds: []executor.Bind{
			{Host: exe, Path: "/tmp/debforge"},
			{Host: archive, Path: "/tmp/archive"},
			{Host: tree, Path: "/tmp/src", Write: true},
		},
		UID: uid, GID: gid,
	}, Runner: u.Runner}
	cmd := execx.Cmd{Args: []string{"/tmp/debforge", "unpack-source", "--kind", kind, "--strip", strconv.Itoa(strip),
		"--max-bytes", strconv.FormatInt(maxBytes, 10), "/tmp/archive", "/tmp/src"}}
	if err := execx.RunLogged(ctx, sb, cmd, log); err != nil {
		return fmt.Errorf("unpack %s in the sandbox: %w", filepath.Base(archive), err)
	}
	// os.Rename will not replace a directory, even an empty one.
	if err := os.Remove(dst); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("unpack into %s: %w", dst, err)
	}
	if err := os.Rename(tree, dst); err != nil {
		return fmt.Errorf("move the unpacked source into place: %w", err)
	}
	return nil
}

// scratchTree makes the directory the tree is unpacked into: one of
// debforge's own, which the build uid can reach wherever dst is (a 0700
// scratch dir of 'new' or 'bump'), on the cache's file system, to be
// moved onto dst. The build uid must reach the helper and the archive
// too, and read the archive: a verified public file, which caches from
// before this was done hold as 0600.
func (u *Unpacker) scratchTree(exe, archive string) (string, error) {
	parent := filepath.Join(u.CacheDir, "unpack")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tree, err := os.MkdirTemp(parent, "src-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tree, 0o755); err != nil {
		os.RemoveAll(tree)
		return "", err
	}
	for _, p := range []string{exe, archive, tree} {
		if err := CheckReachable(filepath.Dir(p)); err != nil {
			os.RemoveAll(tree)
			return "", err
		}
	}
	if st, err := os.Stat(archive); err == nil && st.Mode().Perm()&0o004 == 0 {
		if err := os.Chmod(archive, st.Mode().Perm()|0o444); err != nil {
			os.RemoveAll(tree)
			return "", err
		}
	}
	return tree, nil
}

// helperExe is a copy of this debforge binary the build uid can run: the
// binary itself may sit where that uid cannot reach it (a 0700 home).
// One copy per binary, named by its hash, under the cache.
func (u *Unpacker) helperExe() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	sum, err := u.SelfSHA256()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(u.CacheDir, "libexec")
	exe := filepath.Join(dir, "debforge-"+sum[:16])
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".debforge-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return exe, os.Rename(tmp.Name(), exe)
}
