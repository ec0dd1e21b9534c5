package forge

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/spec"
)

// The Go build cache the go command shares across components, where it
// alone runs (execx.Cmd.Trusted: the go builder's compiles of pure Go
// binaries whose spec sets no environment and no linker flag that can
// start a program). The go command trusts its cache's entries, and what
// it writes there itself is what it computed from the sources it read:
// only a program of a spec's choosing could write an entry that lies,
// and no such program ever sees this cache (post_steps, script steps and
// everything cgo runs use the component's own). Sharing it saves each
// component compiling the standard library and the modules the stack
// has in common again.
const trustedGoCacheName = "build-trusted"

// goBuildCacheName names the Go build cache a build of c in root writes.
// The go command trusts its cache's entries, and a build can rewrite any
// file of the cache it writes: so each component has its own, and one
// component's build can never change what another one links. A pure Go
// compile does not depend on the root (the go command keys its entries by
// toolchain, GOOS/GOARCH, flags and sources), so it shares one cache
// across the component's roots and targets; anything that may run cgo or
// a C compiler gets one per root as well, because cgo objects depend on
// the root's headers and libraries, which the go command does not track.
func goBuildCacheName(c *spec.Component, root *buildroot.Root) string {
	if c.Build.PureGo() {
		return "build-" + c.Name + "-pure"
	}
	return "build-" + c.Name + "-" + root.Key[:16]
}

// CleanGoCaches removes the Go build caches of CACHE/go that no spec's
// builds write any more: those of components no spec has, a pure
// component's per-root caches and a cgo one's pure cache (the build
// changed kind), and per-root caches of roots no spec builds in. The
// module cache and the shared trusted cache stay. It returns what it
// removed.
func (f *Forge) CleanGoCaches() ([]string, error) {
	used, err := f.usedGoCaches()
	if err != nil {
		return nil, err
	}
	unlock, err := LockCache(f.opts.CacheDir, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dirs, _ := filepath.Glob(filepath.Join(f.opts.CacheDir, "go", "build-*"))
	var removed []string
	for _, d := range dirs {
		name := filepath.Base(d)
		if used[name] || name == trustedGoCacheName {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return removed, fmt.Errorf("remove Go build cache %s: %w", d, err)
		}
		removed = append(removed, d)
	}
	return removed, nil
}

// usedGoCaches names the Go build caches the specs' builds write: a pure
// component's one, and a cgo component's one per root it builds in that
// is made (a root not made yet has no key, and so no cache either).
func (f *Forge) usedGoCaches() (map[string]bool, error) {
	byComponent, err := f.componentRootDirs()
	if err != nil {
		return nil, err
	}
	roots, err := f.rootStore().List()
	if err != nil {
		return nil, err
	}
	rootAt := map[string]*buildroot.Root{}
	for _, r := range roots {
		rootAt[filepath.Dir(r.FS)] = r
	}
	used := map[string]bool{}
	for _, c := range f.set.Components {
		if c.Build == nil {
			continue
		}
		if c.Build.PureGo() {
			used[goBuildCacheName(c, nil)] = true
			continue
		}
		for _, d := range byComponent[c.Name] {
			if r := rootAt[d]; r != nil {
				used[goBuildCacheName(c, r)] = true
			}
		}
	}
	return used, nil
}
