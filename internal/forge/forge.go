// Package forge is the orchestrator: it loads the specs, orders them, and
// runs fetch -> build -> package -> publish for each component, in
// parallel where the dependency graph allows, reusing cached packages
// whose inputs have not changed.
package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/debforge/debforge/internal/buildkey"
	"github.com/debforge/debforge/internal/buildlog"
	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/publishing"
	"github.com/debforge/debforge/internal/runlock"
	"github.com/debforge/debforge/internal/schedule"
	"github.com/debforge/debforge/internal/usage"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/builders/autotools"
	"github.com/debforge/debforge/internal/builders/gobuild"
	"github.com/debforge/debforge/internal/builders/makebuild"
	"github.com/debforge/debforge/internal/builders/script"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/filehash"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/postinst"
)

// NewRegistry is the one place builder kinds are registered.
func NewRegistry() *builders.Registry {
	return builders.NewRegistry(gobuild.New(), makebuild.New(), autotools.New(), script.New())
}

// LoadSpecs loads and validates a specs directory against the registered
// builder kinds and the maintainer-script templates.
func LoadSpecs(dir string, opts ...spec.Option) (*spec.Set, error) {
	return spec.LoadDir(dir, NewRegistry().Kinds(), append(opts, spec.WithScriptCheck(postinst.Check))...)
}

// Options configure a Forge.
type Options struct {
	SpecsDir, OutDir, CacheDir string
	// ValidSpecsOnly leaves out the component specs that do not validate
	// instead of failing: for new, which must work while another spec is
	// half edited.
	ValidSpecsOnly bool
	// SigningKey is the armored private key; default in KeyDir.
	SigningKey string
	// CreateKey allows making a new key at SigningKey when it is missing
	// and the repository publishes none yet (the CLI sets it only for its
	// default key path).
	CreateKey bool
	// PreviousKeys are keys being rotated out: published and signing
	// beside SigningKey until they are dropped from this list.
	PreviousKeys []string
	Jobs         int
	// Sources overrides component sources with local directories.
	Sources map[string]string
	// Except leaves components out of "all".
	Except []string
	// Rebuild forces these components to build even on a cache hit.
	Rebuild []string
	// KeepWork keeps the work directory of a failed build for inspection.
	KeepWork bool
	// Targets narrows debforge.yaml's targets (RELEASE/ARCH, --target).
	Targets []string
	// Arch is the Debian architecture; default from dpkg.
	Arch string
	// BuildKitAddrs are BuildKit workers (buildctl's --addr forms, or
	// ARCH=ADDR to pin one to an architecture) the builds run on instead
	// of the local sandbox; none: the sandbox.
	BuildKitAddrs []string
	// BuildKitCache is where BuildKit imports the builds' layers from and
	// exports them to (buildkit.ParseCache); zero: nowhere.
	BuildKitCache buildsite.WorkerCache
	// BuildKitTLSDir holds the TLS files for a tcp:// worker (buildkit.TLSFiles).
	BuildKitTLSDir string
	// RootsDir holds the build roots and Go toolchains; default
	// CacheDir/roots.
	RootsDir string
	// Events receives progress; may be nil.
	Events func(Event)
	// Notify receives messages the user must see (a new signing key).
	Notify func(string)
	// Log receives command output (verbose mode); may be nil.
	Log io.Writer
	// Runner runs commands; default execx.OS.
	Runner execx.Runner
	// Now is the publish time; default time.Now.
	Now func() time.Time
}

// Stage names a step of a component's pipeline.
type Stage string

// Stages, in order.
const (
	StageFetch Stage = "fetch"
	// StageWait: another build, maybe another run on a shared cache,
	// holds this component's cache entry; it waits for it.
	StageWait    Stage = "wait"
	StageBuild   Stage = "build"
	StagePackage Stage = "package"
	StageDone    Stage = "done"
	StageFailed  Stage = "failed"
	StageSkipped Stage = "skipped"
	// StageCancelled: the run was interrupted before or while it ran.
	StageCancelled Stage = "cancelled"
)

// Event reports progress of one component.
type Event struct {
	Component string
	Stage     Stage
	Elapsed   time.Duration // since the component started
	CacheHit  bool
	Err       error
	// Worker is the BuildKit worker a build stage runs on (again, on
	// another worker, after one was lost); empty: the local sandbox.
	Worker string
}

// Result is the outcome for one component.
type Result struct {
	Component string
	Package   string
	Version   string
	Deb       string // path in the pool (or cache for fetch-only)
	Size      int64
	CacheHit  bool
	// CompileShared is set when the package was made from a compile of
	// another target (a pure Go build of the same arch, runCompiled).
	CompileShared bool
	// Worker is the BuildKit worker that built it; empty: the local sandbox.
	Worker      string
	FetchTime   time.Duration
	BuildTime   time.Duration
	PackageTime time.Duration
	Err         error
	// Hint says how to get past Err.
	Hint string
	// Warnings are problems that did not fail the build (e.g. an ELF file
	// without hardening); they are reported when the build runs, not on
	// a cache hit.
	Warnings []string
}

// Forge runs builds.
type Forge struct {
	opts     Options
	registry *builders.Registry
	runner   execx.Runner
	fetcher  *source.Fetcher
	set      *spec.Set
	// namesOnce: the note that no root has the release's package
	// names is written once per run (releaseNames).
	namesOnce sync.Once
	// oneTarget is set on the Forge of one target of several (forTarget):
	// it builds and pools, and the caller publishes once for all.
	oneTarget bool
	// release is the Debian release of that target; empty: this host's.
	release string
	// workers run the builds when Options.BuildKitAddrs is set.
	workers *buildsite.Workers
	// sandbox is the one check per run that builds can be sandboxed here.
	sandbox *buildsite.Probe
}

// digests remembers hashes and comparisons of files between runs.
func (f *Forge) digests() filehash.Memo { return filehash.InCache(f.opts.CacheDir) }

// New loads and validates the specs. Nothing is written.
func New(opts Options) (*Forge, error) {
	reg := NewRegistry()
	var loadOpts []spec.Option
	if opts.ValidSpecsOnly {
		loadOpts = append(loadOpts, spec.SkippingInvalid(map[string]error{}))
	}
	set, err := LoadSpecs(opts.SpecsDir, loadOpts...)
	if err != nil {
		return nil, err
	}
	if opts.Runner == nil {
		opts.Runner = execx.OS{}
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.RootsDir == "" {
		opts.RootsDir = filepath.Join(opts.CacheDir, "roots")
	}
	for name := range opts.Sources {
		if set.Get(name) == nil {
			return nil, usage.New(fmt.Errorf("--source %s: unknown component", name), "known: "+strings.Join(set.Names(), ", "))
		}
	}
	for _, name := range opts.Rebuild {
		if set.Get(name) == nil {
			return nil, usage.New(fmt.Errorf("--rebuild %s: unknown component", name), "known: "+strings.Join(set.Names(), ", "))
		}
	}
	if err := publishing.CheckKeysOutsideOut(opts.SigningKey, opts.PreviousKeys, opts.OutDir); err != nil {
		return nil, err
	}
	if opts.Arch != "" && !debian.ArchRe.MatchString(opts.Arch) {
		return nil, usage.New(fmt.Errorf("--arch %q: not a Debian architecture name", opts.Arch), "lower-case letters, digits and '-', e.g. amd64, arm64")
	}
	if opts.Arch != "" && len(set.Repo.TargetList) > 0 {
		// targets: name each release and architecture; an --arch beside
		// them would be ignored, and a typo in it would look like success.
		return nil, usage.New(fmt.Errorf("--arch %s: %s has targets:, which name the architectures", opts.Arch, set.Repo.File),
			"build some of them with --target RELEASE/ARCH (repeatable)")
	}
	f := &Forge{
		opts:     opts,
		registry: reg,
		runner:   opts.Runner,
		fetcher: &source.Fetcher{CacheDir: opts.CacheDir, Runner: opts.Runner,
			Private: []string{opts.CacheDir, opts.RootsDir, opts.OutDir}},
		set:     set,
		sandbox: &buildsite.Probe{},
	}
	f.fetcher.Unpack = f.sandboxedUnpack
	return f, nil
}

// Set returns the loaded specs.
func (f *Forge) Set() *spec.Set { return f.set }

// Options returns the options f was made with (Runner filled in).
func (f *Forge) Options() Options { return f.opts }

// Fetcher returns the fetcher builds use: downloads verified into the
// cache, archives unpacked in the build sandbox.
func (f *Forge) Fetcher() *source.Fetcher { return f.fetcher }

func (f *Forge) emit(e Event) {
	if f.opts.Events != nil {
		f.opts.Events(e)
	}
}

// Fetch fetches and verifies the sources of the named components.
func (f *Forge) Fetch(ctx context.Context, names []string) ([]Result, error) {
	comps, err := buildorder.Select(f.set, names, f.opts.Except)
	if err != nil {
		return nil, err
	}
	unlockCache, err := runlock.Cache(f.opts.CacheDir, false)
	if err != nil {
		return nil, err
	}
	defer unlockCache()
	results := f.parallel(ctx, comps, func(c *spec.Component, log io.Writer) Result {
		start := time.Now()
		r := Result{Component: c.Name, Package: c.PackageName(), Version: c.DebVersion()}
		if !c.IsMeta() {
			f.emit(Event{Component: c.Name, Stage: StageFetch})
			_, err := f.fetcher.Fetch(ctx, c, f.opts.Sources[c.Name], log)
			r.Err, r.Hint = err, hint.Of(err)
		}
		r.FetchTime = time.Since(start)
		return r
	})
	return results, joinResults(results)
}

// Build builds the named components (and what they come after), puts the
// packages into the pool and publishes the repository. A failed component
// does not stop independent ones; the error lists every failure.
func (f *Forge) Build(ctx context.Context, names []string) ([]Result, error) {
	if len(f.set.Repo.TargetList) > 0 && !f.oneTarget {
		return f.buildTargets(ctx, names)
	}
	if len(f.opts.Targets) > 0 && !f.oneTarget {
		return nil, usage.New(fmt.Errorf("--target %s: %s sets no targets", f.opts.Targets[0], f.set.Repo.File),
			"list them in "+f.set.Repo.File+", e.g. targets: [bookworm/amd64, bookworm/arm64, trixie/amd64]")
	}
	comps, err := buildorder.Select(f.set, names, f.opts.Except)
	if err != nil {
		return nil, err
	}
	if err := f.repo().KeyProblem(); err != nil {
		return nil, err
	}
	if err := f.defaultArch(); err != nil {
		return nil, err
	}
	disconnect, err := f.connectWorkers(ctx)
	if err != nil {
		return nil, err
	}
	defer disconnect()
	be, err := f.prepare(ctx, comps)
	if err != nil {
		return nil, err
	}
	defer be.release() // the roots this run used; root update waits for it
	env := newKeyEnv(be, f.set.Repo, f.digests())
	unlock, err := f.lockOutAndCache()
	if err != nil {
		return nil, err
	}
	defer unlock()
	repoDir := filepath.Join(f.opts.OutDir, "repo")
	results, added := f.buildIntoPool(ctx, comps, be, env, repoDir)
	buildErr := joinResults(results)
	if ctx.Err() != nil {
		// Interrupted: what finished is in the pool, but the published
		// index stays as it was; the next build or publish indexes it.
		return results, errors.Join(buildErr, fmt.Errorf("interrupted (%w): nothing new published", ctx.Err()))
	}
	if f.oneTarget {
		return results, buildErr
	}
	if err := f.publishBuilt(repoDir, results, added, buildErr); err != nil {
		return results, errors.Join(buildErr, err)
	}
	return results, buildErr
}

// publishBuilt publishes whatever a build put into the pool: a failed
// component must not hold back the others, and the previous index stays
// valid until the swap. When the pool gained nothing (added), the
// published index matches the pool and the settings (url, description,
// ...) did not change, the repository is left exactly as it was (use
// 'debforge publish' to re-sign); an index that does not match (a publish
// that failed, a deleted Packages.xz) is published again, and checked
// afterwards. Changed settings are published only when some component
// built: a run in which everything failed changes nothing in out/.
func (f *Forge) publishBuilt(repoDir string, results []Result, added bool, buildErr error) error {
	repo := f.repo()
	if !added && repo.UpToDate(anySucceeded(results)) {
		return nil
	}
	if debs, _ := aptrepo.PoolFiles(repoDir); !added && buildErr != nil && len(debs) == 0 {
		// A failed build on a fresh out/: publishing would only make a key
		// and an empty repository that hide the failure.
		return nil
	}
	return repo.Publish(nil)
}

// buildIntoPool builds comps in parallel, each after those it comes
// after (their cache keys are in its own), and puts every package that
// built into the pool of repoDir; added says whether the pool gained one.
func (f *Forge) buildIntoPool(ctx context.Context, comps []*spec.Component, be *buildEnv, env buildkey.Env, repoDir string) (_ []Result, added bool) {
	keys := make(map[string]string)
	var mu sync.Mutex
	results := f.parallel(ctx, comps, func(c *spec.Component, log io.Writer) Result {
		mu.Lock()
		depKeys := make([]string, 0, len(c.After))
		for _, d := range c.After {
			depKeys = append(depKeys, keys[d])
		}
		mu.Unlock()
		r, key := f.buildOne(ctx, c, be, env, depKeys, log)
		isNew := false
		if r.Err == nil {
			var err error
			r.Deb, isNew, err = aptrepo.AddToPoolWith(f.digests(), repoDir, f.set.Repo.Component, r.Deb)
			r.Err = publishing.ChangedHint(c, err)
			r.Hint = hint.Join(r.Hint, hint.Of(r.Err))
		}
		mu.Lock()
		added = added || isNew
		keys[c.Name] = key
		mu.Unlock()
		return r
	})
	return results, added
}

func (f *Forge) finish(c *spec.Component, r Result, start time.Time) {
	switch {
	case r.Err != nil && errors.Is(r.Err, ErrCancelled):
		f.emit(Event{Component: c.Name, Stage: StageCancelled, Elapsed: time.Since(start), Err: r.Err})
	case r.Err != nil && errors.Is(r.Err, ErrSkipped):
		f.emit(Event{Component: c.Name, Stage: StageSkipped, Elapsed: time.Since(start), Err: r.Err})
	case r.Err != nil:
		f.emit(Event{Component: c.Name, Stage: StageFailed, Elapsed: time.Since(start), Err: r.Err})
	default:
		f.emit(Event{Component: c.Name, Stage: StageDone, Elapsed: time.Since(start), CacheHit: r.CacheHit})
	}
}

// ErrSkipped marks a component not run because a prerequisite failed.
var ErrSkipped = schedule.ErrSkipped

// ErrCancelled marks a component not run, or stopped, because the run
// was interrupted.
var ErrCancelled = schedule.ErrCancelled

// parallel runs fn for each component once its prerequisites are done, at
// most Jobs at a time, and returns one Result per component in comps'
// order (schedule.Run: a failed prerequisite skips its dependents, an
// interrupted run starts nothing new and cancels what failed meanwhile).
func (f *Forge) parallel(ctx context.Context, comps []*spec.Component, fn func(c *spec.Component, log io.Writer) Result) []Result {
	results := make([]Result, len(comps))
	tasks := make([]schedule.Task, len(comps))
	for i, c := range comps {
		tasks[i] = schedule.Task{Name: c.Name, After: c.After}
	}
	start := time.Now()
	schedule.Run(ctx, tasks, f.opts.Jobs, func(i int) schedule.Outcome {
		r, o := f.runLogged(ctx, comps[i], fn)
		results[i] = r
		f.finish(comps[i], r, start)
		return o
	}, func(i int, err error, _ schedule.Outcome) {
		c := comps[i]
		results[i] = Result{Component: c.Name, Package: c.PackageName(), Version: c.DebVersion(), Err: err}
		f.finish(c, results[i], start)
	})
	return results
}

// runLogged runs fn for c with c's log, names the log in a failure's
// hint, and says how it ended.
func (f *Forge) runLogged(ctx context.Context, c *spec.Component, fn func(c *spec.Component, log io.Writer) Result) (Result, schedule.Outcome) {
	logw, logPath, finishLog := f.componentLog(f.logName(c.Name))
	r := fn(c, logw)
	finishLog(r.Err != nil || !r.CacheHit)
	if r.Err != nil && logPath != "" {
		r.Hint = hint.Join(r.Hint, "full log: "+logPath)
	}
	switch {
	case r.Err == nil:
		return r, schedule.Succeeded
	case ctx.Err() != nil:
		r.Err = fmt.Errorf("%w: %w", ErrCancelled, r.Err)
		return r, schedule.Cancelled
	default:
		return r, schedule.Failed
	}
}

// componentLog opens the log of name under CACHE/logs (buildlog.Open);
// verbose mode also streams it to Options.Log.
func (f *Forge) componentLog(name string) (w io.Writer, path string, finish func(keep bool)) {
	return buildlog.Open(filepath.Join(f.opts.CacheDir, "logs"), name, f.opts.Log)
}

// logName is the log name of component name: with targets, one per
// target (bookworm's and trixie's builds run at once).
func (f *Forge) logName(name string) string {
	if f.oneTarget {
		return name + "@" + f.release + "-" + f.opts.Arch
	}
	return name
}

func anySucceeded(results []Result) bool {
	for _, r := range results {
		if r.Err == nil {
			return true
		}
	}
	return false
}

func joinResults(results []Result) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Component, r.Err))
		}
	}
	return errors.Join(errs...)
}

// UsageError is a mistake in what the user asked for (usage.Error).
type UsageError = usage.Error
