package buildsite

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/spec"
)

// TrustedGoCacheName is the Go build cache the go command shares across
// components, where it alone runs (execx.Cmd.Trusted: the go builder's
// compiles of pure Go binaries whose spec sets no environment and no
// linker flag that can start a program). The go command trusts its
// cache's entries, and what it writes there itself is what it computed
// from the sources it read: only a program of a spec's choosing could
// write an entry that lies, and no such program ever sees this cache
// (post_steps, script steps and everything cgo runs use the component's
// own). Sharing it saves each component compiling the standard library
// and the modules the stack has in common again.
const TrustedGoCacheName = "build-trusted"

// GoBuildCacheName names the Go build cache a build of c in root writes.
// The go command trusts its cache's entries, and a build can rewrite any
// file of the cache it writes: so each component has its own, and one
// component's build can never change what another one links. A pure Go
// compile does not depend on the root (the go command keys its entries by
// toolchain, GOOS/GOARCH, flags and sources), so it shares one cache
// across the component's roots and targets; anything that may run cgo or
// a C compiler gets one per root as well, because cgo objects depend on
// the root's headers and libraries, which the go command does not track.
func GoBuildCacheName(c *spec.Component, root *buildroot.Root) string {
	if c.Build.PureGo() {
		return "build-" + c.Name + "-pure"
	}
	return "build-" + c.Name + "-" + root.Key[:16]
}

// RemoveGoCaches removes the Go build caches of cacheDir/go that are not
// in used (by name), and returns them; the module cache and the shared
// trusted cache stay. The caller holds the cache lock.
func RemoveGoCaches(cacheDir string, used map[string]bool) ([]string, error) {
	dirs, _ := filepath.Glob(filepath.Join(cacheDir, "go", "build-*"))
	var removed []string
	for _, d := range dirs {
		name := filepath.Base(d)
		if used[name] || name == TrustedGoCacheName {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return removed, fmt.Errorf("remove Go build cache %s: %w", d, err)
		}
		removed = append(removed, d)
	}
	return removed, nil
}

// chownTree creates dir if needed and gives it and everything in it to
// uid:gid without following links.
func chownTree(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// ownDir makes dir belong to uid:gid, walking it only when it does not
// already (a shared cache is handed over once).
func ownDir(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if owner(dir) == uid {
		return nil
	}
	return chownTree(dir, uid, gid)
}
