package forge

import (
	"path/filepath"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/runlock"
)

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
	unlock, err := runlock.Cache(f.opts.CacheDir, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return buildsite.RemoveGoCaches(f.opts.CacheDir, used)
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
			used[buildsite.GoBuildCacheName(c, nil)] = true
			continue
		}
		for _, d := range byComponent[c.Name] {
			if r := rootAt[d]; r != nil {
				used[buildsite.GoBuildCacheName(c, r)] = true
			}
		}
	}
	return used, nil
}
