package forge

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/usage"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/spec"
)

// runTargets are the targets this build covers: debforge.yaml's, narrowed
// by --target (each of which must be one of them).
func (f *Forge) runTargets() ([]spec.Target, error) {
	all := f.set.Repo.TargetList
	if len(f.opts.Targets) == 0 {
		return all, nil
	}
	var out []spec.Target
	for _, s := range f.opts.Targets {
		t, err := spec.ParseTarget(s)
		if err != nil {
			return nil, usage.New(fmt.Errorf("--target: %w", err), "use RELEASE/ARCH from targets: in "+f.set.Repo.File)
		}
		if !slices.Contains(all, t) {
			var names []string
			for _, a := range all {
				names = append(names, a.String())
			}
			return nil, usage.New(fmt.Errorf("--target %s: not one of the targets in %s (%s)", s, f.set.Repo.File, strings.Join(names, ", ")),
				"add it to targets: in "+f.set.Repo.File+" first, so the repository publishes its release and architecture")
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// forTarget is a Forge that builds the components for t: each carries t's
// release suffix, and those whose spec restricts them to other targets
// are left out (returned as the reasons they are skipped). With allDone,
// Architecture: all packages are left out too: another architecture of
// the release already built them, and they are the same file.
func (f *Forge) forTarget(t spec.Target, allDone bool) (*Forge, []string) {
	set := &spec.Set{Repo: f.set.Repo}
	var skipped []string
	for _, c := range f.set.Components {
		if why := c.SkipReason(t); why != "" {
			skipped = append(skipped, why)
			continue
		}
		if allDone && c.Package != nil && c.Package.Architecture == "all" {
			continue
		}
		set.Components = append(set.Components, c.ForTarget(t))
	}
	opts := f.opts
	opts.Arch = t.Arch
	if f.opts.Events != nil {
		opts.Events = func(e Event) {
			e.Component += "@" + t.String()
			f.opts.Events(e)
		}
	}
	return &Forge{opts: opts, registry: f.registry, runner: f.runner, fetcher: f.fetcher, set: set, oneTarget: true, release: t.Release, workers: f.workers, sandbox: f.sandbox}, skipped
}

// buildTargets builds the components for every target in turn and then
// publishes once: a target whose builds fail does not hold back the
// others, which are published.
func (f *Forge) buildTargets(ctx context.Context, names []string) ([]Result, error) {
	targets, err := f.runTargets()
	if err != nil {
		return nil, err
	}
	comps, err := buildorder.Select(f.set, names, f.opts.Except)
	if err != nil {
		return nil, err
	}
	repoDir := filepath.Join(f.opts.OutDir, "repo")
	if err := f.repo().KeyProblem(); err != nil {
		return nil, err
	}
	if err := f.defaultArch(); err != nil {
		return nil, err
	}
	if err := f.verifyTargetRoots(targets, comps); err != nil {
		return nil, err
	}
	disconnect, err := f.connectWorkers(ctx)
	if err != nil {
		return nil, err
	}
	defer disconnect()
	before, _ := aptrepo.PoolFiles(repoDir)
	results, buildErr := f.buildEachTarget(ctx, targets, comps)
	if ctx.Err() != nil {
		return results, errors.Join(buildErr, fmt.Errorf("interrupted (%w): nothing new published", ctx.Err()))
	}
	unlock, err := f.lockOutAndCache()
	if err != nil {
		return results, errors.Join(buildErr, err)
	}
	defer unlock()
	after, _ := aptrepo.PoolFiles(repoDir)
	added := !slices.Equal(before, after)
	if err := f.publishBuilt(repoDir, results, added, buildErr); err != nil {
		return results, errors.Join(buildErr, err)
	}
	return results, buildErr
}

// buildEachTarget builds comps for each target in turn into the shared
// pool, naming every result and failure with its target
// (runc@bookworm/arm64), and stops after the target an interrupt hit.
func (f *Forge) buildEachTarget(ctx context.Context, targets []spec.Target, comps []*spec.Component) ([]Result, error) {
	var results []Result
	var errs []error
	releases := map[string]bool{}
	for _, t := range targets {
		g, skipped := f.forTarget(t, releases[t.Release])
		releases[t.Release] = true
		for _, why := range skipped {
			if slices.ContainsFunc(comps, func(c *spec.Component) bool { return strings.Contains(why, " "+c.File+" ") }) {
				f.notify(why)
			}
		}
		tnames := g.namesOf(comps)
		if len(tnames) == 0 {
			continue
		}
		res, err := g.Build(ctx, tnames)
		for i := range res {
			res[i].Component += "@" + t.String()
		}
		results = append(results, res...)
		if err != nil {
			// A failure before any component ran is named by its target.
			if named := joinResults(res); named != nil {
				err = named
			} else {
				err = fmt.Errorf("%s: %w", t, err)
			}
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return results, errors.Join(errs...)
}

// buildArch is the Debian architecture of this machine: builds for
// another one are cross builds.
func buildArch() string {
	a, err := buildroot.HostArch()
	if err != nil {
		return runtime.GOARCH
	}
	return a
}

// verifyTargets runs VerifyReproducible for each target of the run (the
// packages of a target carry its suffix and are built for its arch).
func (f *Forge) verifyTargets(ctx context.Context, names []string) ([]Repro, error) {
	targets, err := f.runTargets()
	if err != nil {
		return nil, err
	}
	comps, err := buildorder.Select(f.set, names, f.opts.Except)
	if err != nil {
		return nil, err
	}
	disconnect, err := f.connectWorkers(ctx) // once, for every target
	if err != nil {
		return nil, err
	}
	defer disconnect()
	var out []Repro
	for _, t := range targets {
		g, _ := f.forTarget(t, false)
		tnames := g.namesOf(comps)
		if len(tnames) == 0 {
			continue
		}
		res, err := g.VerifyReproducible(ctx, tnames)
		for i := range res {
			res[i].Component += "@" + t.String()
		}
		out = append(out, res...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// verifyTargetRoots checks the made roots of every target before the
// first target builds: each target's own prepare checks them too, but by
// then an earlier target may have added to the pool. A target whose
// release is unknown is left to its own build, which names it.
func (f *Forge) verifyTargetRoots(targets []spec.Target, comps []*spec.Component) error {
	releases := map[string]bool{}
	for _, t := range targets {
		g, _ := f.forTarget(t, releases[t.Release])
		releases[t.Release] = true
		tnames := g.namesOf(comps)
		if len(tnames) == 0 {
			continue
		}
		rt, err := g.rootTarget()
		if err != nil {
			continue
		}
		tcomps, err := buildorder.Select(g.set, tnames, g.opts.Except)
		if err != nil {
			continue
		}
		if err := buildsite.VerifyRoots(g.rootStore(), rt, g.opts.Arch, tcomps); err != nil {
			return err
		}
	}
	return nil
}

// namesOf lists the components of comps that this forge's specs build
// (a per-target forge leaves out those restricted to other targets).
func (f *Forge) namesOf(comps []*spec.Component) []string {
	var names []string
	for _, c := range comps {
		if f.set.Get(c.Name) != nil {
			names = append(names, c.Name)
		}
	}
	return names
}
