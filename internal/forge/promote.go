package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/pkgtest"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/usage"
)

// PromoteStatus is what promote did with one version.
type PromoteStatus string

// Promote's answers. Held versions stay in staging, with a reason.
const (
	Promoted      PromoteStatus = "promoted"
	AlreadyStable PromoteStatus = "stable"
	Held          PromoteStatus = "held"
)

// PromoteOutcome is one component's version for one release.
type PromoteOutcome struct {
	Component, Release, Package, Version string
	Status                               PromoteStatus
	Reason                               string
}

// candidate is a component's version in a release's staging suite, on
// the architectures of the release it is built for.
type candidate struct {
	c         *spec.Component // as built for release
	release   string
	targets   []pkgtest.Target
	pkg, arch string                     // arch is "all" for an Architecture: all package
	stanzas   map[string][]aptrepo.Field // by target architecture
	outcome   *PromoteOutcome
	hasTests  bool
}

// Promote moves the named components' versions (default: all) from each
// release's staging suite into the release's suite, where their tests
// passed on every target of the release they are built for and the
// suite stays installable on each, and publishes. The rest stay in
// staging, each with its reason.
func (f *Forge) Promote(ctx context.Context, names []string, progress io.Writer) ([]PromoteOutcome, error) {
	if !f.set.Repo.Staging {
		return nil, usage.New(fmt.Errorf("%s: promote needs staging: true", f.set.Repo.File),
			"set staging: true in debforge.yaml: builds then go to <release>-staging, and promote moves them to <release>")
	}
	comps, err := buildorder.Select(f.set, names, f.opts.Except)
	if err != nil {
		return nil, err
	}
	targets, err := f.testTargets()
	if err != nil {
		return nil, err
	}
	if err := f.defaultArch(); err != nil {
		return nil, err
	}
	unlock, err := f.lockOutAndCache()
	if err != nil {
		return nil, err
	}
	defer unlock()
	repoDir := filepath.Join(f.opts.OutDir, "repo")
	cands, err := f.promotionCandidates(repoDir, comps, targets)
	if err != nil {
		return nil, err
	}
	for _, cd := range cands {
		if cd.outcome.Status == "" {
			holdUntested(repoDir, cd)
		}
	}
	if err := f.holdUninstallable(ctx, repoDir, cands, targets, progress); err != nil {
		return outcomesOf(cands), err
	}
	if err := recordPromotions(repoDir, cands, f.opts.Now()); err != nil {
		return outcomesOf(cands), err
	}
	return outcomesOf(cands), f.repo().Publish(nil)
}

// promotionCandidates finds each component's version in the staging
// suite of every release it is built for.
func (f *Forge) promotionCandidates(repoDir string, comps []*spec.Component, targets []pkgtest.Target) ([]*candidate, error) {
	var out []*candidate
	byRelease := map[string]*candidate{}
	for _, t := range targets {
		for _, c := range comps {
			if c.SkipReason(spec.Target{Release: t.Release, Arch: t.Arch}) != "" {
				continue
			}
			cd := byRelease[c.Name+"/"+t.Release]
			if cd == nil {
				cd = newCandidate(f.forTestTarget(c, t), t.Release)
				byRelease[c.Name+"/"+t.Release] = cd
				out = append(out, cd)
			}
			cd.targets = append(cd.targets, t)
		}
	}
	promoted, err := aptrepo.ReadPromotions(repoDir)
	if err != nil {
		return nil, err
	}
	in := aptrepo.PromotedIn(promoted)
	for _, cd := range out {
		if err := findInStaging(repoDir, f.set.Repo.Component, cd, in[cd.release]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// newCandidate is built (a component as built for release) not yet
// looked for in staging.
func newCandidate(built *spec.Component, release string) *candidate {
	cd := &candidate{c: built, release: release, pkg: built.PackageName(), arch: "any", hasTests: len(built.Tests) > 0,
		stanzas: map[string][]aptrepo.Field{},
		outcome: &PromoteOutcome{Component: built.Name, Release: release, Package: built.PackageName(), Version: built.DebVersion()}}
	if built.ArchAll() {
		cd.arch = "all"
	}
	return cd
}

// findInStaging reads cd's stanza on each of its architectures from the
// staging suite, and settles cd when it is missing or already stable.
func findInStaging(repoDir, component string, cd *candidate, stable map[string]bool) error {
	o := cd.outcome
	already := true
	for _, t := range cd.targets {
		stanzas, err := aptrepo.ReadIndex(repoDir, t.Release+aptrepo.StagingSuffix, component, t.Arch)
		if err != nil {
			return err
		}
		arch := cd.archOn(t)
		for _, st := range stanzas {
			if debfile.FieldValue(st, "Package") == cd.pkg && debfile.FieldValue(st, "Version") == o.Version && debfile.FieldValue(st, "Architecture") == arch {
				cd.stanzas[t.Arch] = st
			}
		}
		if cd.stanzas[t.Arch] == nil {
			o.Status, o.Reason = Held, fmt.Sprintf("not in %s%s for %s: build it first (debforge build %s)", t.Release, aptrepo.StagingSuffix, t.Arch, o.Component)
			return nil
		}
		already = already && stable[aptrepo.PromotionKey(cd.pkg, o.Version, arch)]
	}
	if already {
		o.Status = AlreadyStable
	}
	return nil
}

// archOn is cd's Architecture on target t.
func (cd *candidate) archOn(t pkgtest.Target) string {
	if cd.arch == "all" {
		return "all"
	}
	return t.Arch
}

// holdUntested holds cd unless its tests passed on every target it is
// built for (a component without tests has nothing to wait for).
func holdUntested(repoDir string, cd *candidate) {
	if !cd.hasTests {
		return
	}
	o := cd.outcome
	for _, t := range cd.targets {
		p := filepath.Join(repoDir, aptrepo.TestsDir, filepath.FromSlash(aptrepo.TestResultName(t.Codename, t.Arch, cd.pkg, o.Version))+".json")
		var r pkgtest.Result
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			o.Status, o.Reason = Held, fmt.Sprintf("not tested on %s: run debforge test %s", t, o.Component)
			return
		}
		if err == nil {
			err = json.Unmarshal(data, &r)
		}
		switch {
		case err != nil:
			o.Status, o.Reason = Held, fmt.Sprintf("test result for %s unreadable: %v", t, err)
		case r.Status == pkgtest.NotRun:
			o.Status, o.Reason = Held, fmt.Sprintf("tests not run on %s: %s", t, r.Reason)
		case r.Status != pkgtest.Passed:
			o.Status, o.Reason = Held, fmt.Sprintf("tests %s on %s: %s (log: %s)", r.Status, t, r.Reason, strings.TrimSuffix(p, ".json")+".log")
		default:
			continue
		}
		return
	}
}

// outcomesOf lists the candidates' outcomes, a candidate not held being
// promoted.
func outcomesOf(cands []*candidate) []PromoteOutcome {
	out := make([]PromoteOutcome, 0, len(cands))
	for _, cd := range cands {
		out = append(out, *cd.outcome)
	}
	return out
}

// Staging says whether builds publish into staging suites, which
// promote moves versions out of (debforge.yaml's staging).
func (f *Forge) Staging() bool { return f.set.Repo.Staging }

// PromoteHeld says whether any outcome stayed in staging.
func PromoteHeld(outcomes []PromoteOutcome) bool {
	return slices.ContainsFunc(outcomes, func(o PromoteOutcome) bool { return o.Status == Held })
}
