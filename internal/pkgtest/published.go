package pkgtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"pault.ag/go/debian/dependency"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
)

// published is a package as a release's signed index lists it.
type published struct {
	Name, Version, SHA256 string
	// FromRepo hashes what apt could install from the repository with
	// it (repoClosure): a change to another package it depends on tests
	// it again, a change to an unrelated one does not.
	FromRepo string
	// FromRepoSize is the size of those .debs: what installing it
	// unpacks, the most of a test's time.
	FromRepoSize int64
}

// NotPublishedError is a package the release's index does not list at
// the version its spec says.
type NotPublishedError struct {
	Package, Version, Index string
	Target                  Target
	// Listed is the version the index lists instead; "" for none.
	Listed string
}

func (e *NotPublishedError) Error() string {
	if e.Listed != "" {
		return fmt.Sprintf("test %s on %s: %s lists version %s, not %s", e.Package, e.Target, e.Index, e.Listed, e.Version)
	}
	return fmt.Sprintf("test %s %s on %s: %s does not list it", e.Package, e.Version, e.Target, e.Index)
}

// Hint names the fix.
func (e *NotPublishedError) Hint() string {
	return "tests run against the published package: build it first (debforge build " + e.Package + ")"
}

// published finds c's package for t in the index apt reads.
func (tr *Tester) published(c *spec.Component, t Target) (published, error) {
	name, version := c.PackageName(), c.DebVersion()
	arch := t.Arch
	if c.ArchAll() {
		arch = "all"
	}
	index := filepath.Join(tr.RepoDir, "dists", t.suite(), tr.Component, "binary-"+t.Arch, "Packages")
	stanzas, err := aptrepo.ReadIndex(tr.RepoDir, t.suite(), tr.Component, t.Arch)
	if err != nil || stanzas == nil {
		return published{}, &NotPublishedError{Package: name, Version: version, Index: index, Target: t}
	}
	pub := published{Name: name, Version: version}
	pub.FromRepo, pub.FromRepoSize = repoClosure(stanzas, append([]string{name}, needs(c)...))
	listed := ""
	for _, st := range stanzas {
		if debfile.FieldValue(st, "Package") != name || debfile.FieldValue(st, "Architecture") != arch {
			continue
		}
		if v := debfile.FieldValue(st, "Version"); v != version {
			listed = v
			continue
		}
		pub.SHA256 = debfile.FieldValue(st, "SHA256")
		return pub, nil
	}
	return published{}, &NotPublishedError{Package: name, Version: version, Index: index, Target: t, Listed: listed}
}

// needs lists every package c's tests need.
func needs(c *spec.Component) []string {
	var out []string
	for _, t := range c.Tests {
		out = append(out, t.Needs...)
	}
	return out
}

// repoClosure hashes every version of the packages of the index stanzas
// that installing names could take from it: names, what their Depends,
// Pre-Depends and Recommends name (any alternative, or a package that
// provides it), and so on. It also sums, over those packages, the size
// of each one's largest .deb: about what installing it unpacks.
func repoClosure(stanzas [][]aptrepo.Field, names []string) (string, int64) {
	byName, providers := map[string][][]aptrepo.Field{}, map[string][]string{}
	for _, st := range stanzas {
		n := debfile.FieldValue(st, "Package")
		byName[n] = append(byName[n], st)
		for _, v := range relationNames(debfile.FieldValue(st, "Provides")) {
			providers[v] = append(providers[v], n)
		}
	}
	seen := map[string]bool{}
	for queue := names; len(queue) > 0; queue = queue[1:] {
		n := queue[0]
		if seen[n] {
			continue
		}
		seen[n] = true
		queue = append(queue, providers[n]...)
		for _, st := range byName[n] {
			for _, f := range []string{"Depends", "Pre-Depends", "Recommends"} {
				queue = append(queue, relationNames(debfile.FieldValue(st, f))...)
			}
		}
	}
	h := sha256.New()
	var size int64
	for _, n := range slices.Sorted(maps.Keys(seen)) {
		var largest int64
		for _, st := range byName[n] {
			fmt.Fprintf(h, "%s %s %s %s\n", n, debfile.FieldValue(st, "Version"), debfile.FieldValue(st, "Architecture"), debfile.FieldValue(st, "SHA256"))
			if sz, err := strconv.ParseInt(debfile.FieldValue(st, "Size"), 10, 64); err == nil && sz > largest {
				largest = sz
			}
		}
		size += largest
	}
	return hex.EncodeToString(h.Sum(nil)), size
}

// InstallSize is the size of the .debs from the repository that testing
// c on t installs; 0 when c is not published for t. Tests that install
// more take longer: run first, they do not end a run alone.
func (tr *Tester) InstallSize(c *spec.Component, t Target) int64 {
	pub, err := tr.published(c, t)
	if err != nil {
		return 0
	}
	return pub.FromRepoSize
}

// relationNames lists every package a relation field names.
func relationNames(field string) []string {
	if strings.TrimSpace(field) == "" {
		return nil
	}
	dep, err := dependency.Parse(field)
	if err != nil {
		return nil // apt would refuse the index; the install says so
	}
	var out []string
	for _, r := range dep.Relations {
		for _, p := range r.Possibilities {
			out = append(out, p.Name)
		}
	}
	return out
}
