package publishing

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/usage"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
)

// Orphan is a package in the pool that no spec builds (its spec was
// removed or renamed): it stays published until it is removed.
type Orphan struct {
	Package, Version, Arch string
	// File is the .deb's path relative to the repository.
	File string
	// Why it is an orphan: "no spec", or "release X not in targets" for
	// a build of a release debforge.yaml no longer publishes.
	Why string
	// stray: only this file goes (its package is still built).
	stray bool
}

// Orphans lists the pool's packages that no spec builds, by name and
// version. The repository's keyring package is not one: publish makes it.
func (r *Repo) Orphans() ([]Orphan, error) {
	pkgs, err := aptrepo.Scan(r.Dir)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{r.Settings.KeyName: true}
	for _, c := range r.Components {
		known[c.PackageName()] = true
	}
	releases, err := r.releaseTargets()
	if err != nil {
		return nil, err
	}
	cfg := aptrepo.Config{Codename: r.Settings.Codename, Releases: releases}
	var out []Orphan
	for _, p := range pkgs {
		switch {
		case !known[p.Name]:
			out = append(out, Orphan{Package: p.Name, Version: p.Version, Arch: p.Arch, File: p.Filename, Why: "no spec"})
		case cfg.Stray(p):
			m := debian.ReleaseSuffixRe.FindString(p.Version)
			rel := m
			for name, r := range debian.Releases {
				if r.Suffix == m {
					rel = name
				}
			}
			out = append(out, Orphan{Package: p.Name, Version: p.Version, Arch: p.Arch, File: p.Filename, Why: "release " + rel + " not in targets", stray: true})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return debian.CompareVersions(out[i].Version, out[j].Version) < 0
	})
	return out, nil
}

// CheckRemovable refuses names that are not orphans: the repository's
// keyring package (every publish makes it) and a package a spec still
// builds (the next build would bring it back).
func (r *Repo) CheckRemovable(names []string) error {
	if len(names) == 0 {
		return &usage.Error{Err: fmt.Errorf("remove: name the package(s) to remove (see 'debforge list')")}
	}
	for _, n := range names {
		if n == r.Settings.KeyName {
			return &usage.Error{Err: fmt.Errorf("remove %s: the repository's keyring package is made by every publish; it cannot be removed", n)}
		}
		for _, c := range r.Components {
			if c.PackageName() == n {
				return &usage.Error{Err: fmt.Errorf("remove %s: %s still builds it; delete or rename that spec first, or the next build publishes it again", n, c.File)}
			}
		}
	}
	return nil
}

// RemoveOrphans publishes without the named orphans (all orphans when
// names is empty and strict is false) and returns them. With strict, a
// name the pool does not hold is an error, and nothing is removed.
func (r *Repo) RemoveOrphans(names []string, strict bool) ([]Orphan, error) {
	orphans, err := r.Orphans()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var gone []Orphan
	found := map[string]bool{}
	for _, o := range orphans {
		if len(names) == 0 || want[o.Package] {
			gone, found[o.Package] = append(gone, o), true
		}
	}
	if strict {
		for _, n := range names {
			if !found[n] {
				return nil, &usage.Error{Err: fmt.Errorf("remove %s: no such package in %s (orphans: %s)", n, filepath.Join(r.Dir, "pool"), orphanNames(orphans))}
			}
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	return gone, r.publishWithout(gone)
}

// publishWithout publishes without the orphans gone: whole packages, or
// single files of a release no longer built (stray), and checks they left
// the pool.
func (r *Repo) publishWithout(gone []Orphan) error {
	removed := map[string]bool{}
	var files []string
	for _, o := range gone {
		if o.stray {
			files = append(files, o.File)
		} else {
			removed[o.Package] = true
		}
	}
	list := make([]string, 0, len(removed))
	for n := range removed {
		list = append(list, n)
	}
	sort.Strings(list)
	if err := r.Publish(list, files...); err != nil {
		return err
	}
	for _, o := range gone {
		if _, err := os.Stat(filepath.Join(r.Dir, filepath.FromSlash(o.File))); err == nil {
			return fmt.Errorf("remove %s: %s is still in the pool after publishing", o.Package, o.File)
		}
	}
	return nil
}

func orphanNames(orphans []Orphan) string {
	seen := map[string]bool{}
	var out []string
	for _, o := range orphans {
		if !seen[o.Package] {
			seen[o.Package] = true
			out = append(out, o.Package)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
