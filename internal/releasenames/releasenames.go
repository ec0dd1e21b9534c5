// Package releasenames checks the Debian package names specs use
// against the names a target release has, as its build roots recorded
// them: a relation naming a package nobody provides, and a package of
// ours named like one of the release's.
package releasenames

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/spec"
)

// Unknown finds the build dependencies, dependencies and
// pre-dependencies of set that name a package neither a target release
// knows (real or virtual, as its build roots in rootsDir recorded them)
// nor any spec builds or provides: a typo that would otherwise surface
// 27 s into making a root, or on every host as an uninstallable package.
// A relation with alternatives is known when one of them is. notes says
// which releases could not be checked (no root of theirs recorded names).
func Unknown(set *spec.Set, rootsDir string) (notes []string, err error) {
	targets := set.Repo.TargetList
	if len(targets) == 0 {
		t, err := buildroot.ParseTarget("", "")
		if err != nil {
			return nil, nil
		}
		targets = []spec.Target{{Release: t.Release, Arch: t.Arch}}
	}
	ours := map[string]bool{set.Repo.KeyName: true}
	for _, c := range set.Components {
		ours[c.PackageName()] = true
		if c.Package != nil {
			for _, p := range c.Package.Provides {
				ours[relationName(p)] = true
			}
		}
	}
	roots, _ := (&buildroot.Store{Dir: rootsDir}).List()
	var errs []error
	noted, reported := map[string]bool{}, map[string]bool{}
	for _, t := range targets {
		names := recordedNames(roots, t.Release)
		if names == nil {
			if !noted[t.Release] {
				notes = append(notes, fmt.Sprintf("no build root of %s has recorded its package names: its dependencies are not checked (debforge root update %s/%s makes one)", t.Release, t.Release, t.Arch))
			}
			noted[t.Release] = true
			continue
		}
		known := func(name string) bool { return ours[name] || names[name] || strings.Contains(name, "{{") }
		for _, c := range set.Components {
			if c.SkipReason(t) != "" {
				continue
			}
			for _, e := range unknownIn(c, known, t.Release) {
				if !reported[e.Error()] {
					reported[e.Error()] = true
					errs = append(errs, e)
				}
			}
		}
	}
	return notes, errors.Join(errs...)
}

// unknownIn lists c's relations whose every alternative is unknown.
func unknownIn(c *spec.Component, known func(string) bool, release string) []error {
	var out []error
	check := func(list []string, keys ...string) {
		for i, rel := range list {
			var alts []string
			for _, a := range strings.Split(rel, "|") {
				alts = append(alts, relationName(a))
			}
			if slices.ContainsFunc(alts, known) {
				continue
			}
			line, col := c.Pos(append(keys, strconv.Itoa(i))...)
			field := fmt.Sprintf("%s[%d]", strings.Join(keys, "."), i)
			out = append(out, &spec.Error{File: c.File, Line: line, Col: col, Path: field,
				Msg:  fmt.Sprintf("no package %q in %s and no spec here builds or provides it", strings.Join(alts, " | "), release),
				Hint: "check the name (apt-cache policy NAME on a " + release + " host); a package of another repository needs that repository on every host"})
		}
	}
	if c.Build != nil {
		check(c.Build.BuildDepends, "build", "build_depends")
	}
	if c.Package != nil {
		check(c.Package.Depends, "package", "depends")
		check(c.Package.PreDepends, "package", "pre_depends")
	}
	return out
}

// relationName is the package name a relation names: the text before
// any version, architecture qualifier or space.
func relationName(rel string) string {
	rel = strings.TrimSpace(rel)
	if i := strings.IndexAny(rel, " (:"); i >= 0 {
		rel = rel[:i]
	}
	return rel
}

// recordedNames are the package names a root of release recorded, nil
// when none did.
func recordedNames(roots []*buildroot.Root, release string) map[string]bool {
	for _, r := range roots {
		if r.Target.Release != release {
			continue
		}
		if names, ok := r.ReleaseNames(); ok {
			return names
		}
	}
	return nil
}

// Collision warns when c's package has the name of a package in the
// target release (names): apt then takes the two for one package and
// installs the release's over ours whenever its version is higher, in
// silence.
func Collision(c *spec.Component, names map[string]bool) string {
	n := c.PackageName()
	if !names[n] {
		return ""
	}
	return fmt.Sprintf("package name %q is taken by a package of the target release: apt installs the release's over yours whenever its version is higher; "+
		"name yours e.g. %q with provides: [\"%s (= %s)\"], conflicts: [%s], replaces: [%s] (docs/own-software.md: naming your own packages)",
		n, "upstream-"+n, n, c.Version, n, n)
}
