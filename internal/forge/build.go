package forge

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/debforge/debforge/internal/buildkey"
	"github.com/debforge/debforge/internal/buildrecord"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/releasenames"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/filehash"
	"github.com/debforge/debforge/internal/hardening"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/postinst"
)

// newKeyEnv is what every cache key of a run shares (buildkey.Env).
func newKeyEnv(be *buildEnv, repo *spec.Repo, digests filehash.Memo) buildkey.Env {
	k := buildkey.Env{Target: be.target.String(), Repo: buildkey.Repo(repo), Epoch: os.Getenv("SOURCE_DATE_EPOCH")}
	if h, err := selfSHA256(digests); err == nil {
		k.Self = h
	}
	if be.tc != nil {
		k.Toolchain = "go" + be.tc.Version + " " + be.tc.Sum
	}
	return k
}

// selfSHA256 is the hash of this debforge binary, read once for as long as
// the file stays the same.
func selfSHA256(digests filehash.Memo) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return digests.Of("sha256", func() (string, error) { return filehash.SHA256(exe) }, exe)
}

// buildJob is one component's build as it goes through the stages of
// buildOne: what each stage found, for the next.
type buildJob struct {
	c     *spec.Component
	be    *buildEnv
	env   buildkey.Env
	log   io.Writer
	start time.Time

	fe      *source.Fetched // nil for a meta-package
	history []byte          // the changelog of earlier revisions
	root    *buildroot.Root // nil for a meta-package: it builds nothing
	key     string
	inputs  []buildkey.Input // what key hashes, by name

	work, srcDir, stageDir string
	mtime                  time.Time
	extraDepends, buildEnv []string
}

// stageError is a failure of one stage of buildOne, named by it.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func inStage(stage string, err error) error {
	if err == nil {
		return nil
	}
	return &stageError{stage, err}
}

// buildOne fetches, builds and packages one component into the package
// cache, or finds it there already. It returns the result and cache key.
func (f *Forge) buildOne(ctx context.Context, c *spec.Component, be *buildEnv, env buildkey.Env, depKeys []string, log io.Writer) (res Result, _ string) {
	r := Result{Component: c.Name, Package: c.PackageName(), Version: c.DebVersion()}
	fail := func(err error) (Result, string) { // err names its stage (inStage)
		r.Err, r.Hint = err, hint.Of(err)
		return r, ""
	}
	j := &buildJob{c: c, be: be, env: env, log: log, start: time.Now()}
	if err := f.findInputs(ctx, j, depKeys, &r); err != nil {
		return fail(err)
	}
	// One writer per key, across runs that share this cache (a cache dir
	// on shared storage, or two runs on one machine): the second waits,
	// then finds the first one's package, .buildinfo and SBOM complete.
	unlock, err := f.lockKey(ctx, "deb-"+j.key, c.Name, log)
	if err != nil {
		return fail(inStage("cache lock", err))
	}
	defer unlock()
	debDir := filepath.Join(f.opts.CacheDir, "debs", j.key)
	cached := filepath.Join(debDir, packaging.FileName(c, f.opts.Arch))
	if st, err := os.Stat(cached); err == nil && !slices.Contains(f.opts.Rebuild, c.Name) {
		r.Deb, r.Size, r.CacheHit = cached, st.Size(), true
		buildkey.WriteRecord(f.keyRecordPath(c.Name), j.key, j.inputs)
		return r, j.key
	}
	if err := f.makeWork(j); err != nil {
		return fail(err)
	}
	defer func() {
		if res.Err != nil && f.opts.KeepWork {
			res.Hint = hint.Join(res.Hint, "work dir kept: "+j.work)
			return
		}
		os.RemoveAll(j.work)
	}()
	if !c.IsMeta() {
		if err := f.compile(ctx, j, &r); err != nil {
			return fail(err)
		}
	}
	if err := f.pack(j, debDir, &r); err != nil {
		return fail(err)
	}
	buildkey.WriteRecord(f.keyRecordPath(c.Name), j.key, j.inputs)
	return r, j.key
}

// findInputs is buildOne's first stage: everything the cache key covers
// (the fetched and verified source, the changelog history, the build
// root) and the key itself.
func (f *Forge) findInputs(ctx context.Context, j *buildJob, depKeys []string, r *Result) error {
	c := j.c
	if err := f.checkNotOlder(c); err != nil {
		return inStage("version", err)
	}
	if !c.IsMeta() {
		f.emit(Event{Component: c.Name, Stage: StageFetch})
		var err error
		if j.fe, err = f.fetcher.Fetch(ctx, c, f.opts.Sources[c.Name], j.log); err != nil {
			return inStage("fetch", err)
		}
	}
	r.FetchTime = time.Since(j.start)
	var err error
	if j.history, err = f.changelogHistory(c); err != nil {
		return inStage("changelog history", err)
	}
	rootKey := "" // meta-packages build nothing, so no root: their key has none
	if !c.IsMeta() {
		if j.root, err = j.be.roots.For(ctx, c); err != nil {
			return inStage("build root", err)
		}
		rootKey = j.root.Key
	}
	j.key, j.inputs, err = buildkey.Package(c, j.fe, j.env, rootKey, depKeys, j.history)
	return inStage("cache key", err)
}

// makeWork makes the build's work directory, which the build uid binds
// paths below.
func (f *Forge) makeWork(j *buildJob) error {
	if err := os.MkdirAll(filepath.Join(f.opts.CacheDir, "work"), 0o755); err != nil {
		return inStage("build", err)
	}
	work, err := os.MkdirTemp(filepath.Join(f.opts.CacheDir, "work"), j.c.Name+"-")
	if err != nil {
		return inStage("build", err)
	}
	j.work, j.srcDir, j.stageDir = work, filepath.Join(work, "src"), filepath.Join(work, "stage")
	j.mtime = sourceTime(j.c, j.fe)
	return inStage("build", os.Chmod(work, 0o755))
}

// compile is buildOne's second stage: the source unpacked, the planned
// commands run in the sandbox (or reused from another target's compile),
// the hardening checked and the shared-library Depends read.
func (f *Forge) compile(ctx context.Context, j *buildJob, r *Result) error {
	c := j.c
	f.emit(Event{Component: c.Name, Stage: StageBuild, Elapsed: time.Since(j.start)})
	buildStart := time.Now()
	if err := f.fetcher.Prepare(ctx, c, j.fe, j.srcDir, j.log); err != nil {
		return inStage("prepare source", err)
	}
	site, err := f.site(j)
	if err != nil {
		return inStage("build", err)
	}
	b, err := f.registry.Get(c.Build.Kind)
	if err != nil {
		return inStage("build", err)
	}
	req, err := f.request(ctx, j, site)
	if err != nil {
		return inStage("build", err)
	}
	j.buildEnv = append(append([]string{}, site.Env()...), req.Env...)
	shared, worker, err := f.runCompiled(ctx, site, b, req, c, j.fe, j.env, j.log)
	r.Worker = worker
	if err != nil {
		return inStage("build", buildsite.ExplainCross(req, err))
	}
	r.CompileShared = shared
	if r.Warnings, err = hardening.CheckBuild(c, j.stageDir, j.log); err != nil {
		return inStage("hardening", err)
	}
	if w, err := packaging.LibraryWarning(c, j.stageDir); err != nil {
		return inStage("build", err)
	} else if w != "" {
		fmt.Fprintf(j.log, "warning: %s\n", w)
		r.Warnings = append(r.Warnings, w)
	}
	j.extraDepends, err = site.ShlibDepends(ctx, req, j.stageDir, j.work, j.log)
	if err != nil {
		return inStage("shlibdeps", err)
	}
	r.BuildTime = time.Since(buildStart)
	return nil
}

// request is what the builder plans from: the paths commands see, the
// environment every build gets, the C flags of the root for a build that
// compiles C (cgo included), checked for a cross build's toolchain.
func (f *Forge) request(ctx context.Context, j *buildJob, site *buildsite.Site) (builders.Request, error) {
	c := j.c
	req := builders.Request{
		Component: withCommit(c, j.fe), SrcDir: "/build/src", StageDir: "/build/stage", WorkDir: "/build/tmp",
		HostSrcDir: j.srcDir, HostStageDir: j.stageDir, Arch: f.opts.Arch, BuildArch: buildArch(),
		Env: []string{"GOMODCACHE=/build/go/mod", "GOCACHE=/build/go/build", "GOTOOLCHAIN=local", "GOSUMDB=off",
			"GOFLAGS=-buildvcs=false", "GOWORK=off", "GOPROXY=off",
			"SOURCE_DATE_EPOCH=" + strconv.FormatInt(j.mtime.Unix(), 10)},
	}
	if j.fe.Kind == "go_module" && len(c.Source.Patches) == 0 && len(c.Source.Delete) == 0 {
		req.Module = c.Source.GoModule
	}
	if builders.NeedsC(c.Build) {
		flags, err := site.Flags(ctx, req, j.log)
		if err != nil {
			return req, err
		}
		req.Flags = &flags
	}
	return req, site.CheckCross(req)
}

// pack is buildOne's last stage: the maintainer scripts, the .deb, its
// SBOM and .buildinfo, written into debDir (the package cache under the
// key).
func (f *Forge) pack(j *buildJob, debDir string, r *Result) error {
	c := j.c
	if w := releasenames.Collision(c, f.releaseNames(j.be, j.root, j.log)); w != "" {
		fmt.Fprintf(j.log, "warning: %s\n", w)
		r.Warnings = append(r.Warnings, w)
	}
	f.emit(Event{Component: c.Name, Stage: StagePackage, Elapsed: time.Since(j.start)})
	pkgStart := time.Now()
	scripts, err := f.writeScripts(j)
	if err != nil {
		return inStage("package", err)
	}
	stage := j.stageDir
	if c.IsMeta() {
		stage = ""
	}
	deb, err := packaging.Build(packaging.Input{
		Component: c, StageDir: stage, SrcDir: j.srcDir, WorkDir: filepath.Join(j.work, "pkg"),
		Scripts: scripts, Arch: f.opts.Arch, MTime: j.mtime, ExtraDepends: j.extraDepends, History: j.history,
	}, debDir)
	if err != nil {
		return inStage("package", err)
	}
	if err := buildrecord.WriteSBOM(c, j.fe, j.root, deb, stage, j.extraDepends, j.mtime); err != nil {
		return inStage("sbom", err)
	}
	if err := buildrecord.WriteBuildInfo(deb, c, j.be.target, j.be.tc, j.root, j.buildEnv, j.mtime); err != nil {
		return inStage("buildinfo", err)
	}
	r.PackageTime = time.Since(pkgStart)
	st, err := os.Stat(deb)
	if err != nil {
		return inStage("package", err)
	}
	r.Deb, r.Size = deb, st.Size()
	return nil
}

// writeScripts renders the spec's maintainer-script templates into the
// work directory.
func (f *Forge) writeScripts(j *buildJob) (map[string]string, error) {
	snippets := make([]postinst.Snippet, 0, len(j.c.Package.Scripts))
	for _, s := range j.c.Package.Scripts {
		snippets = append(snippets, postinst.Snippet{Template: s.Template, Vars: s.Vars})
	}
	dir := filepath.Join(j.work, "scripts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	scripts, err := postinst.Write(dir, j.c.PackageName(), snippets)
	if err != nil {
		return nil, fmt.Errorf("%s: package.scripts: %w", j.c.File, err)
	}
	return scripts, nil
}

// withCommit fills in the commit the fetch learned, for {{.Commit}}.
func withCommit(c *spec.Component, fe *source.Fetched) *spec.Component {
	if fe == nil || fe.Commit == "" || c.Source.Commit != "" {
		return c
	}
	cc := *c
	s := *c.Source
	s.Commit = fe.Commit
	cc.Source = &s
	return &cc
}

// sourceTime picks the mtime of every packaged file: SOURCE_DATE_EPOCH,
// else source.date, else the module's release time, else packaging.DefaultEpoch.
func sourceTime(c *spec.Component, fe *source.Fetched) time.Time {
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	if c.Source != nil && c.Source.Date != "" {
		if t, err := time.Parse(time.RFC3339, c.Source.Date); err == nil {
			return t.UTC()
		}
	}
	if fe != nil && !fe.Time.IsZero() {
		return fe.Time.UTC().Truncate(time.Second)
	}
	return packaging.DefaultEpoch
}
