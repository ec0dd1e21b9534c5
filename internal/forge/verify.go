package forge

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/buildkey"
	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/runlock"
	"github.com/debforge/debforge/internal/spec"
)

// Repro is the outcome of building one component twice.
type Repro struct {
	Component string
	Debs      [2]string
	// Differences names what differs: "control", "md5sums" or data paths.
	Differences []string
	// Worker is the BuildKit worker that made the second package ("" for
	// the local sandbox).
	Worker string
	Err    error
}

// VerifyReproducible builds each named component a second time in a fresh
// cache (own work dirs, own Go build cache; modules and downloads shared,
// being verified content) and compares the two packages byte for byte.
func (f *Forge) VerifyReproducible(ctx context.Context, names []string) ([]Repro, error) {
	if len(f.set.Repo.TargetList) > 0 && !f.oneTarget {
		return f.verifyTargets(ctx, names)
	}
	comps, be, end, err := f.startRun(ctx, names)
	if err != nil {
		return nil, err
	}
	defer end()
	second, err := os.MkdirTemp(f.opts.CacheDir, "repro-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(second)
	g, err := f.secondForge(second, comps)
	if err != nil {
		return nil, err
	}
	// With workers, the second build runs on them and the first (a cache
	// hit, or a miss built now) in the local sandbox: the comparison says
	// whether a worker reproduces the local package.
	disconnect, err := f.connectWorkers(ctx)
	if err != nil {
		return nil, err
	}
	defer disconnect()
	g.workers, f.workers = f.workers, nil
	defer func() { f.workers = g.workers }()
	env1 := newKeyEnv(be, f.set.Repo, f.digests())
	var out []Repro
	keys1, keys2 := map[string]string{}, map[string]string{}
	for _, c := range comps {
		var deps1, deps2 []string
		for _, d := range c.After {
			deps1, deps2 = append(deps1, keys1[d]), append(deps2, keys2[d])
		}
		if err := f.checkRecordedRoot(ctx, c, be); err != nil {
			out = append(out, Repro{Component: c.Name, Err: err})
			continue
		}
		rp, k1, k2 := f.buildTwice(ctx, g, c, be, env1, deps1, deps2)
		keys1[c.Name], keys2[c.Name] = k1, k2
		out = append(out, rp)
	}
	return out, nil
}

// startRun selects the named components (and what they come after) for a
// run that builds in this forge's target without publishing, prepares
// their build environment and holds the cache as a build does (clean
// waits). end releases the roots and the cache.
func (f *Forge) startRun(ctx context.Context, names []string) (comps []*spec.Component, be *buildEnv, end func(), err error) {
	if comps, err = buildorder.Select(f.set, names, f.opts.Except); err != nil {
		return nil, nil, nil, err
	}
	if err := f.defaultArch(); err != nil {
		return nil, nil, nil, err
	}
	if be, err = f.prepare(ctx, comps); err != nil {
		return nil, nil, nil, err
	}
	unlockCache, err := runlock.Cache(f.opts.CacheDir, false)
	if err != nil {
		be.release()
		return nil, nil, nil, err
	}
	return comps, be, func() { unlockCache(); be.release() }, nil
}

// secondForge is the Forge of verify-reproducible's second build: the
// same specs and options, a fresh cache in dir (sharing only the
// downloads: modules, tarballs, git checkouts), and every selected
// component rebuilt.
func (f *Forge) secondForge(dir string, comps []*spec.Component) (*Forge, error) {
	if err := os.Chmod(dir, 0o755); err != nil { // the build uid binds paths below it
		return nil, err
	}
	for _, shared := range []string{"go/mod", "tarballs", "git"} {
		src := filepath.Join(f.opts.CacheDir, shared)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return nil, err
		}
		dst := filepath.Join(dir, shared)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Symlink(src, dst); err != nil {
			return nil, err
		}
	}
	opts2 := f.opts
	opts2.CacheDir = dir
	opts2.Rebuild = nil // the selected components, not "all"
	for _, c := range comps {
		opts2.Rebuild = append(opts2.Rebuild, c.Name)
	}
	// With targets the target's Forge carries its architecture; New
	// refuses an --arch beside targets:, so it is set after.
	opts2.Arch = ""
	g, err := New(opts2)
	if err != nil {
		return nil, err
	}
	g.opts.Arch = f.opts.Arch
	return g, nil
}

// buildTwice builds c with f (or finds it in f's cache) and again with g,
// and compares the two packages.
func (f *Forge) buildTwice(ctx context.Context, g *Forge, c *spec.Component, be *buildEnv, env buildkey.Env, deps1, deps2 []string) (rp Repro, k1, k2 string) {
	rp = Repro{Component: c.Name}
	r1, k1 := f.buildOne(ctx, c, be, env, deps1, io.Discard)
	start := time.Now()
	f.emit(Event{Component: c.Name, Stage: StageBuild})
	r2, k2 := g.buildOne(ctx, c, be, env, deps2, io.Discard)
	switch {
	case r1.Err != nil:
		rp.Err = r1.Err
	case r2.Err != nil:
		rp.Err = r2.Err
	default:
		rp.Debs, rp.Worker = [2]string{r1.Deb, r2.Deb}, r2.Worker
		rp.Differences, rp.Err = debfile.Compare(r1.Deb, r2.Deb)
		if rp.Err == nil && len(rp.Differences) == 0 {
			// Keep the second copy out of the way: same bytes anyway.
			rp.Debs[1] = ""
		}
	}
	f.emit(Event{Component: c.Name, Stage: StageDone, Elapsed: time.Since(start)})
	return rp, k1, k2
}

// checkRecordedRoot compares the root a published package was built in,
// as its .buildinfo records it, with the root a rebuild would use now: a
// rebuild in another root proves nothing about the published bytes.
func (f *Forge) checkRecordedRoot(ctx context.Context, c *spec.Component, be *buildEnv) error {
	name := strings.TrimSuffix(packaging.FileName(c, f.opts.Arch), ".deb") + ".buildinfo"
	matches, _ := filepath.Glob(filepath.Join(f.opts.OutDir, "repo", "pool", "*", "*", "*", name))
	if len(matches) == 0 {
		return nil // not published yet: nothing recorded to compare with
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		return err
	}
	if c.IsMeta() {
		return nil // built in no root
	}
	root, err := be.roots.For(ctx, c)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "X-Debforge-Root-Key: "); ok && v != root.Key {
			return fmt.Errorf("%s was built in build root %s, but the root of %s is now %s (its package set changed): "+
				"rebuild and publish it first, or compare with the .buildinfo's Installed-Build-Depends", matches[0], v, be.target, root.Key)
		}
	}
	return nil
}
