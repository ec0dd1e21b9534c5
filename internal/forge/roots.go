package forge

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/usage"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/toolchain"
)

// buildEnv is what every build of one run shares: the target, its build
// roots (buildsite.Roots: one per distinct set of build dependencies,
// found or made on first use) and the Go toolchain.
type buildEnv struct {
	target buildroot.Target
	tc     *toolchain.Toolchain // nil when debforge.yaml pins none
	roots  *buildsite.Roots
}

// release ends the run's use of every root it found (held shared, so
// that root update waits for the run).
func (be *buildEnv) release() { be.roots.Release() }

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
	be := &buildEnv{target: t, roots: &buildsite.Roots{Store: f.rootStore(), Target: t, Arch: f.opts.Arch, Notify: f.opts.Notify,
		Log: func(name string) (io.Writer, func()) {
			w, _, finish := f.componentLog(name)
			return w, func() { finish(true) }
		}}}
	if !slices.ContainsFunc(comps, func(c *spec.Component) bool { return !c.IsMeta() }) {
		return be, nil // meta-packages only: nothing runs, no root needed
	}
	if err := f.sandbox.Check(ctx, f.runner); err != nil {
		return nil, err
	}
	if err := buildsite.VerifyRoots(f.rootStore(), be.target, f.opts.Arch, comps); err != nil {
		return nil, err
	}
	be.tc, err = f.goToolchain(ctx, t, comps)
	return be, err
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
// host's) afresh from the mirror: the build roots, and the clean root
// tests start from where one was made.
func (f *Forge) UpdateRoots(ctx context.Context, target string, log io.Writer) ([]*buildroot.Root, error) {
	t, err := buildroot.ParseTarget(target, "")
	if err != nil {
		return nil, &usage.Error{Err: err}
	}
	roots, err := f.rootStore().Update(ctx, t, log)
	if err != nil {
		return roots, err
	}
	clean, err := f.testRootStore().UpdateBase(ctx, t, log)
	if clean != nil {
		roots = append(roots, clean)
	}
	return roots, err
}

// ListRoots lists the cached roots.
func (f *Forge) ListRoots() ([]*buildroot.Root, error) { return f.rootStore().List() }

// RootDiskUsage is the disk r takes on its own (buildroot.Store.DiskUsage).
func (f *Forge) RootDiskUsage(r *buildroot.Root) (int64, error) { return f.rootStore().DiskUsage(r) }

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
			deps, err := buildsite.Deps(rt, g.opts.Arch, c)
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
