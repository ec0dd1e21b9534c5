package forge

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/usage"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/toolchain"
)

// buildEnv is what every build of one run shares: the target, one build
// root per distinct set of build dependencies (found or made on first
// use), and the Go toolchain.
type buildEnv struct {
	target buildroot.Target
	tc     *toolchain.Toolchain // nil when debforge.yaml pins none
	mu     sync.Mutex
	roots  map[string]*buildroot.Root // by depsID
	// releases end the run's use of its roots (held shared, so that
	// root update waits for the run): call release when the run ends.
	releases []func()
}

// release ends the run's use of every root it found.
func (be *buildEnv) release() {
	be.mu.Lock()
	defer be.mu.Unlock()
	for _, r := range be.releases {
		r()
	}
	be.releases = nil
}

func depsID(c *spec.Component) string {
	if c.Build == nil {
		return ""
	}
	return strings.Join(c.Build.BuildDepends, " ")
}

// rootID names c's root within one Forge (one target architecture).
func (f *Forge) rootID(c *spec.Component) string {
	if f.opts.Arch != buildArch() && !builders.NeedsC(c.Build) {
		return buildArch() + " " + depsID(c) // the native root
	}
	return f.opts.Arch + " " + depsID(c)
}

// rootTarget is the build root builds of this Forge run in: the release
// of its target (this host's release when debforge.yaml lists no
// targets), on this host's architecture (builds for another architecture
// cross-compile in it).
func (f *Forge) rootTarget() (buildroot.Target, error) {
	t, err := buildroot.ParseTarget(f.release+"/"+buildArch(), "")
	if err != nil {
		return t, &usage.Error{Err: err}
	}
	return t, nil
}

func (f *Forge) rootStore() *buildroot.Store {
	mirrors := map[string]string{}
	for name, rs := range f.set.Repo.Releases {
		mirrors[name] = rs.Mirror
	}
	return &buildroot.Store{Dir: f.opts.RootsDir, Mirror: f.set.Repo.Mirror, ReleaseMirrors: mirrors, Runner: f.runner}
}

// prepare checks that builds can be sandboxed here and fetches the Go
// toolchain, before anything is written to out/: a host that cannot
// sandbox or an unknown release stops the run with out/ untouched.
func (f *Forge) prepare(ctx context.Context, comps []*spec.Component) (*buildEnv, error) {
	t, err := f.rootTarget()
	if err != nil {
		return nil, err
	}
	be := &buildEnv{target: t, roots: map[string]*buildroot.Root{}}
	if !slices.ContainsFunc(comps, func(c *spec.Component) bool { return !c.IsMeta() }) {
		return be, nil // meta-packages only: nothing runs, no root needed
	}
	if err := f.sandbox.Check(ctx, f.runner); err != nil {
		return nil, err
	}
	if err := f.verifyRoots(be.target, comps); err != nil {
		return nil, err
	}
	be.tc, err = f.goToolchain(ctx, t, comps)
	return be, err
}

// verifyRoots checks every made root that comps build in against its
// recorded hash (buildroot.Store.Verify says what that costs), so a
// damaged root stops the whole run, once, before anything is built or
// written to out/: the components of healthy roots do not publish
// without the others.
func (f *Forge) verifyRoots(t buildroot.Target, comps []*spec.Component) error {
	store := f.rootStore()
	seen := map[string]bool{}
	for _, c := range comps {
		if c.IsMeta() || seen[f.rootID(c)] {
			continue
		}
		seen[f.rootID(c)] = true
		deps, err := f.rootDeps(t, c)
		if err != nil {
			return err
		}
		if err := store.Verify(t, deps); err != nil {
			return err
		}
	}
	return nil
}

// rootDeps is what c's root has installed besides the base: its
// build_depends and, for a cross build that compiles C, the cross compiler
// and the target's -dev packages (a pure Go cross build uses the native
// root).
func (f *Forge) rootDeps(t buildroot.Target, c *spec.Component) ([]string, error) {
	deps := c.Build.BuildDepends
	if f.opts.Arch != t.Arch && builders.NeedsC(c.Build) {
		native := c.Build.Kind == "go" && len(c.Build.PostSteps) > 0
		return builders.CrossBuildDepends(deps, f.opts.Arch, t.Arch, native)
	}
	return deps, nil
}

// rootFor finds or makes the build root of c (once per run and set of
// build dependencies; the store locks against other runs).
func (f *Forge) rootFor(ctx context.Context, be *buildEnv, c *spec.Component) (*buildroot.Root, error) {
	id := f.rootID(c)
	be.mu.Lock()
	r := be.roots[id]
	be.mu.Unlock()
	if r != nil {
		return r, nil
	}
	if err := buildsite.CheckReachable(f.opts.RootsDir); err != nil {
		return nil, err
	}
	store := f.rootStore()
	deps, err := f.rootDeps(be.target, c)
	if err != nil {
		return nil, err
	}
	if f.opts.Notify != nil && !store.Ready(be.target, deps) {
		f.opts.Notify(rootNotice(be.target, deps, store.Ready(be.target, nil), c.Name, f.opts.Arch))
	}
	log, _, finishLog := f.componentLog("root-" + be.target.Release + "-" + be.target.Arch + "-" + c.Name)
	defer finishLog(true)
	r, release, err := store.Acquire(ctx, be.target, deps, log)
	if err != nil {
		return nil, err
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if have := be.roots[id]; have != nil { // found meanwhile by another build of this run
		release()
		return have, nil
	}
	be.roots[id] = r
	be.releases = append(be.releases, release)
	return r, nil
}

// DefaultGoToolchain is used when debforge.yaml pins no go_toolchain.
var DefaultGoToolchain = spec.GoToolchain{Version: "1.26.8", Sums: map[string]string{
	"amd64": "h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=",
	"arm64": "h1:sYL/O6MqS68ML0kjsQ36WoYIpJqkw60TxizWUYUKQMc=",
}}

// goToolchain fetches the pinned Go toolchain when debforge.yaml pins one;
// a go build without one is refused.
func (f *Forge) goToolchain(ctx context.Context, t buildroot.Target, comps []*spec.Component) (*toolchain.Toolchain, error) {
	pin := f.set.Repo.GoToolchain
	if pin == nil {
		// Not pinned in debforge.yaml: the toolchain this debforge was
		// tested with, pinned here (the key covers it all the same).
		if !slices.ContainsFunc(comps, func(c *spec.Component) bool { return c.Build != nil && c.Build.Kind == "go" }) {
			return nil, nil
		}
		pin = &DefaultGoToolchain
	}
	goarch := debian.Archs[t.Arch].GoArch
	sum := pin.Sums[goarch]
	if sum == "" {
		return nil, usage.New(fmt.Errorf("%s: go_toolchain.sums: no hash for %s", f.set.Repo.File, goarch),
			"add it: Sum of 'go mod download -json "+toolchain.Module(pin.Version, goarch)+"'")
	}
	log, _, finishLog := f.componentLog("toolchain")
	defer finishLog(true)
	return toolchain.Ensure(ctx, f.runner, filepath.Join(f.opts.RootsDir, "toolchains"), pin.Version, goarch, sum, log)
}

// UpdateRoots makes the roots of target ("RELEASE[/ARCH]", default this
// host's) afresh from the mirror.
func (f *Forge) UpdateRoots(ctx context.Context, target string, log io.Writer) ([]*buildroot.Root, error) {
	t, err := buildroot.ParseTarget(target, "")
	if err != nil {
		return nil, &usage.Error{Err: err}
	}
	return f.rootStore().Update(ctx, t, log)
}

// ListRoots lists the cached roots.
func (f *Forge) ListRoots() ([]*buildroot.Root, error) { return f.rootStore().List() }

// RootDiskUsage is the disk r takes on its own (buildroot.Store.DiskUsage).
func (f *Forge) RootDiskUsage(r *buildroot.Root) (int64, error) { return f.rootStore().DiskUsage(r) }

// rootNotice says which root is made for component name, built for arch,
// and what it costs: a base is bootstrapped (about a minute), a root with
// build dependencies derived from a base already made takes seconds. A
// cross build names the architecture the root builds for.
func rootNotice(t buildroot.Target, deps []string, baseReady bool, name, arch string) string {
	what, cost := "making the build root", "once; about a minute"
	if len(deps) > 0 && baseReady {
		what, cost = "deriving the build root", "once; seconds"
	}
	if arch != "" && arch != t.Arch {
		name += " for " + t.Release + "/" + arch
	}
	return fmt.Sprintf("%s %s %s for %s (%s)", what, t, depsText(deps), name, cost)
}

// depsText says which build dependencies a root has, for a person.
func depsText(deps []string) string {
	if len(deps) == 0 {
		return "(no build dependencies)"
	}
	return "with " + strings.Join(deps, ", ")
}

// usedRootDirs lists the directories of the roots the specs build in: the
// base root of every target and one root per set of build dependencies
// (cross builds' included).
func (f *Forge) usedRootDirs() (map[string]bool, error) {
	byComponent, err := f.componentRootDirs()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, dirs := range byComponent {
		for _, d := range dirs {
			used[d] = true
		}
	}
	return used, nil
}

// componentRootDirs lists, by component name, the directories of the
// roots each component builds in on the specs' targets; "" lists every
// target's base root.
func (f *Forge) componentRootDirs() (map[string][]string, error) {
	if err := f.defaultArch(); err != nil {
		return nil, err
	}
	forges := []*Forge{f}
	if targets := f.set.Repo.TargetList; len(targets) > 0 {
		forges = nil
		for _, t := range targets {
			g, _ := f.forTarget(t, false)
			forges = append(forges, g)
		}
	}
	store := f.rootStore()
	dirs := map[string][]string{}
	for _, g := range forges {
		rt, err := g.rootTarget()
		if err != nil {
			return nil, err
		}
		dirs[""] = append(dirs[""], store.DirOf(rt, nil))
		for _, c := range g.set.Components {
			if c.IsMeta() || c.Build == nil {
				continue
			}
			deps, err := g.rootDeps(rt, c)
			if err != nil {
				return nil, err
			}
			dirs[c.Name] = append(dirs[c.Name], store.DirOf(rt, deps))
		}
	}
	return dirs, nil
}

// CleanRoots removes the build roots no spec builds in any more (an old
// set of build dependencies, a target dropped from debforge.yaml), except
// those a build uses at the moment, which it returns as busy.
func (f *Forge) CleanRoots() (removed, busy []string, err error) {
	used, err := f.usedRootDirs()
	if err != nil {
		return nil, nil, err
	}
	return f.rootStore().Prune(used)
}
