package forge

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"

	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/pkgtest"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/usage"
)

// TestOutcome is one component's tests on one target: a result, or the
// error that kept it from being tested.
type TestOutcome struct {
	Component string
	Target    string
	Result    *pkgtest.Result
	Err       error
}

// Test runs the tests of the named components (default: every component
// with tests) against their published packages, on every target of the
// run each is built for, a few at a time, and publishes again so that
// the front page shows the results.
func (f *Forge) Test(ctx context.Context, names []string, progress io.Writer) ([]TestOutcome, error) {
	comps, err := f.componentsWithTests(names)
	if err != nil {
		return nil, err
	}
	targets, err := f.testTargets()
	if err != nil {
		return nil, err
	}
	unlock, err := f.lockOutAndCache()
	if err != nil {
		return nil, err
	}
	defer unlock()
	type job struct {
		c *spec.Component // as published for t
		t pkgtest.Target
	}
	var jobs []job
	for _, t := range targets {
		for _, c := range comps {
			if c.SkipReason(spec.Target{Release: t.Release, Arch: t.Arch}) == "" {
				jobs = append(jobs, job{f.forTestTarget(c, t), t})
			}
		}
	}
	tester := f.tester()
	defer tester.Close()
	// The jobs that install the most start first, so that none of them
	// is left to run alone at the end: the stack's meta-package, started
	// last, added its 11 s to a run of 23 s.
	order := make(chan int, len(jobs))
	for _, i := range largestFirst(len(jobs), func(i int) int64 { return tester.InstallSize(jobs[i].c, jobs[i].t) }) {
		order <- i
	}
	close(order)
	outcomes := make([]TestOutcome, len(jobs))
	var wg sync.WaitGroup
	for range min(f.opts.Jobs, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range order {
				j := jobs[i]
				fmt.Fprintf(progress, "testing %s on %s\n", j.c.Name, j.t)
				res, err := tester.Run(ctx, j.c, j.t, f.opts.Log)
				outcomes[i] = TestOutcome{Component: j.c.Name, Target: j.t.String(), Result: res, Err: err}
			}
		}()
	}
	wg.Wait()
	// The front page shows the results beside the packages they are of.
	if err := f.defaultArch(); err != nil {
		return outcomes, err
	}
	return outcomes, f.repo().Publish(nil)
}

// componentsWithTests selects the named components, each of which must
// have tests, or every component that has.
func (f *Forge) componentsWithTests(names []string) ([]*spec.Component, error) {
	comps, err := buildorder.Select(f.set, names, f.opts.Except)
	if err != nil {
		return nil, err
	}
	all := len(names) == 0 || (len(names) == 1 && names[0] == "all")
	var out, without []*spec.Component
	for _, c := range comps {
		if len(c.Tests) > 0 {
			out = append(out, c)
		} else if !all && slices.Contains(names, c.Name) {
			without = append(without, c)
		}
	}
	if len(without) > 0 {
		return nil, usage.New(fmt.Errorf("%s has no tests", without[0].File), "add a tests: list to the spec (docs/spec-reference.md, tests)")
	}
	return out, nil
}

// testTargets are the run's targets with the dists/ each is published
// in (its staging suite, with staging); without targets, this host's release and architecture in Codename.
func (f *Forge) testTargets() ([]pkgtest.Target, error) {
	ts, err := f.runTargets()
	if err != nil {
		return nil, err
	}
	var out []pkgtest.Target
	for _, t := range ts {
		pt := pkgtest.Target{Target: buildroot.Target{Release: t.Release, Arch: t.Arch}, Codename: t.Release}
		if f.set.Repo.Staging {
			pt.Suite = t.Release + aptrepo.StagingSuffix
		}
		out = append(out, pt)
	}
	if len(out) == 0 {
		t, err := f.rootTarget()
		if err != nil {
			return nil, err
		}
		if f.opts.Arch != "" {
			t.Arch = f.opts.Arch
		}
		out = append(out, pkgtest.Target{Target: t, Codename: f.set.Repo.Codename})
	}
	return out, nil
}

// forTestTarget is c as published for t (its version with t's suffix).
func (f *Forge) forTestTarget(c *spec.Component, t pkgtest.Target) *spec.Component {
	if len(f.set.Repo.TargetList) == 0 {
		return c
	}
	return c.ForTarget(spec.Target{Release: t.Release, Arch: t.Arch})
}

// tester tests the packages of out/repo in clean roots kept beside the
// build roots.
func (f *Forge) tester() *pkgtest.Tester {
	return &pkgtest.Tester{
		Roots: f.testRootStore(), RepoDir: filepath.Join(f.opts.OutDir, "repo"),
		Component: f.set.Repo.Component, KeyName: f.set.Repo.KeyName,
		CacheDir: filepath.Join(f.opts.CacheDir, "tests"), ResultsDir: filepath.Join(f.opts.OutDir, "repo", aptrepo.TestsDir),
		Runner: f.runner, HostArch: buildArch(),
	}
}

// testRootStore keeps the clean roots tests start from (mmdebstrap
// --variant=apt), beside the build roots.
func (f *Forge) testRootStore() *buildroot.Store {
	store := f.rootStore()
	store.Variant = "apt"
	return store
}

// TestFailed says whether any outcome is a failure or an error.
func TestFailed(outcomes []TestOutcome) bool {
	for _, o := range outcomes {
		if o.Err != nil || (o.Result != nil && o.Result.Status == pkgtest.Failed) {
			return true
		}
	}
	return false
}

// largestFirst returns 0..n-1 ordered by size, largest first (ties in
// their order).
func largestFirst(n int, size func(int) int64) []int {
	idx, sizes := make([]int, n), make([]int64, n)
	for i := range idx {
		idx[i], sizes[i] = i, size(i)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(sizes[b], sizes[a]) })
	return idx
}
