package buildsite

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/spec"
)

// Roots finds or makes the build roots of one run for one target: one
// root per set of build dependencies, found or made on first use and
// held (shared, so that root update waits for the run) until Release.
// The store locks against other runs.
type Roots struct {
	Store *buildroot.Store
	// Target is the release and this host's architecture: a build for
	// another architecture cross-compiles in its root.
	Target buildroot.Target
	// Arch is the architecture the run builds for.
	Arch string
	// Notify is told which root is made, before it is; nil: nobody.
	Notify func(string)
	// Log opens the log a root named name is made with, and closes it.
	Log func(name string) (w io.Writer, done func())

	mu       sync.Mutex
	roots    map[string]*buildroot.Root // by rootID
	releases []func()
}

// Deps is what c's root has installed besides the base when built in a
// root of t for arch: its build_depends and, for a cross build that
// compiles C, the cross compiler and the target's -dev packages (a pure
// Go cross build uses the native root).
func Deps(t buildroot.Target, arch string, c *spec.Component) ([]string, error) {
	deps := c.Build.BuildDepends
	if arch != t.Arch && builders.NeedsC(c.Build) {
		native := c.Build.Kind == "go" && len(c.Build.PostSteps) > 0
		return builders.CrossBuildDepends(deps, arch, t.Arch, native)
	}
	return deps, nil
}

// rootID names c's root among the roots of t built for arch: a pure Go
// cross build uses the native root.
func rootID(t buildroot.Target, arch string, c *spec.Component) string {
	deps := ""
	if c.Build != nil {
		deps = strings.Join(c.Build.BuildDepends, " ")
	}
	if arch != t.Arch && !builders.NeedsC(c.Build) {
		return t.Arch + " " + deps // the native root
	}
	return arch + " " + deps
}

// For finds or makes the build root of c, once per run and set of build
// dependencies.
func (r *Roots) For(ctx context.Context, c *spec.Component) (*buildroot.Root, error) {
	id := rootID(r.Target, r.Arch, c)
	r.mu.Lock()
	root := r.roots[id]
	r.mu.Unlock()
	if root != nil {
		return root, nil
	}
	if err := sandbox.CheckReachable(r.Store.Dir); err != nil {
		return nil, err
	}
	deps, err := Deps(r.Target, r.Arch, c)
	if err != nil {
		return nil, err
	}
	if r.Notify != nil && !r.Store.Ready(r.Target, deps) {
		r.Notify(Notice(r.Target, deps, r.Store.Ready(r.Target, nil), c.Name, r.Arch))
	}
	log, done := r.Log("root-" + r.Target.Release + "-" + r.Target.Arch + "-" + c.Name)
	defer done()
	root, release, err := r.Store.Acquire(ctx, r.Target, deps, log)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if have := r.roots[id]; have != nil { // found meanwhile by another build of this run
		release()
		return have, nil
	}
	if r.roots == nil {
		r.roots = map[string]*buildroot.Root{}
	}
	r.roots[id] = root
	r.releases = append(r.releases, release)
	return root, nil
}

// Any is one root this run has found, or nil.
func (r *Roots) Any() *buildroot.Root {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, root := range r.roots {
		return root
	}
	return nil
}

// Release ends the run's use of every root it found.
func (r *Roots) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rel := range r.releases {
		rel()
	}
	r.releases = nil
}

// VerifyRoots checks every made root of t that comps build in for arch
// against its recorded hash (buildroot.Store.Verify says what that
// costs), so a damaged root stops the whole run, once, before anything
// is built or written to out/: the components of healthy roots do not
// publish without the others.
func VerifyRoots(store *buildroot.Store, t buildroot.Target, arch string, comps []*spec.Component) error {
	seen := map[string]bool{}
	for _, c := range comps {
		id := rootID(t, arch, c)
		if c.IsMeta() || seen[id] {
			continue
		}
		seen[id] = true
		deps, err := Deps(t, arch, c)
		if err != nil {
			return err
		}
		if err := store.Verify(t, deps); err != nil {
			return err
		}
	}
	return nil
}

// Notice says which root is made for component name, built for arch,
// and what it costs: a base is bootstrapped (about a minute), a root with
// build dependencies derived from a base already made takes seconds. A
// cross build names the architecture the root builds for.
func Notice(t buildroot.Target, deps []string, baseReady bool, name, arch string) string {
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
