package forge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/debforge/debforge/builders"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/hardening"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/packaging"
	"github.com/debforge/debforge/postinst"
)

// keyEnv is what every cache key shares: debforge itself, the Go
// toolchain, the repository settings and the reproducibility epoch.
type keyEnv struct {
	self, goVersion, repo, epoch string
}

func newKeyEnv(ctx context.Context, r execx.Runner, cacheDir string, repo *spec.Repo) (keyEnv, error) {
	var k keyEnv
	if exe, err := os.Executable(); err == nil {
		if h, err := source.HashFile(exe); err == nil {
			k.self = h
		}
	}
	var out bytes.Buffer
	// Without Go there is no go builder, but meta-packages still build.
	if err := r.Run(ctx, execx.Cmd{Args: []string{"go", "env", "GOVERSION"}, Env: []string{"GOTOOLCHAIN=local"}}, &out); err == nil {
		k.goVersion = strings.TrimSpace(out.String())
	}
	k.repo = repoKey(repo)
	k.epoch = os.Getenv("SOURCE_DATE_EPOCH")
	return k, nil
}

// cacheKey hashes everything that can change a package's bytes.
func (f *Forge) cacheKey(c *spec.Component, fe *source.Fetched, env keyEnv, depKeys []string, history []byte) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "debforge %s\ngo %s\narch %s\nrepo %s\nepoch %s\n", env.self, env.goVersion, f.opts.Arch, env.repo, env.epoch)
	data, err := os.ReadFile(c.File)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "spec %x\n", sha256.Sum256(data))
	if v := c.DebVersion(); spec.ReleaseSuffixRe.MatchString(v) {
		// Built for a release (targets): its suffix is in the package.
		fmt.Fprintf(h, "version %s\n", v)
	}
	if fe != nil {
		fmt.Fprintf(h, "source %s %s %s\ndelete %q\n", fe.Kind, fe.ID, fe.Commit, c.Source.Delete)
		for _, p := range c.Source.Patches {
			data, err := os.ReadFile(filepath.Join(c.Dir, p))
			if err != nil {
				return "", fmt.Errorf("read patch %s: %w", p, err)
			}
			fmt.Fprintf(h, "patch %s %x\n", p, sha256.Sum256(data))
		}
	}
	for _, d := range depKeys {
		fmt.Fprintf(h, "after %s\n", d)
	}
	fmt.Fprintf(h, "history %x\n", sha256.Sum256(history))
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// buildOne fetches, builds and packages one component into the package
// cache, or finds it there already. It returns the result and cache key.
func (f *Forge) buildOne(ctx context.Context, c *spec.Component, env keyEnv, depKeys []string, log io.Writer) (res Result, _ string) {
	r := Result{Component: c.Name, Package: c.PackageName(), Version: c.DebVersion()}
	fail := func(stage string, err error) (Result, string) {
		r.Err = fmt.Errorf("%s: %w", stage, err)
		r.Hint = hintFor(err)
		return r, ""
	}
	start := time.Now()
	var fe *source.Fetched
	if !c.IsMeta() {
		f.emit(Event{Component: c.Name, Stage: StageFetch})
		var err error
		fe, err = f.fetcher.Fetch(ctx, c, f.opts.Sources[c.Name], log)
		if err != nil {
			return fail("fetch", err)
		}
	}
	r.FetchTime = time.Since(start)
	history, err := f.changelogHistory(c)
	if err != nil {
		return fail("changelog history", err)
	}
	key, err := f.cacheKey(c, fe, env, depKeys, history)
	if err != nil {
		return fail("cache key", err)
	}
	debDir := filepath.Join(f.opts.CacheDir, "debs", key)
	cached := filepath.Join(debDir, packaging.FileName(c, f.opts.Arch))
	if st, err := os.Stat(cached); err == nil && !slices.Contains(f.opts.Rebuild, c.Name) {
		r.Deb, r.Size, r.CacheHit = cached, st.Size(), true
		return r, key
	}
	if err := os.MkdirAll(filepath.Join(f.opts.CacheDir, "work"), 0o755); err != nil {
		return fail("build", err)
	}
	work, err := os.MkdirTemp(filepath.Join(f.opts.CacheDir, "work"), c.Name+"-")
	if err != nil {
		return fail("build", err)
	}
	defer func() {
		if res.Err != nil && f.opts.KeepWork {
			res.Hint = joinHints(res.Hint, "work dir kept: "+work)
			return
		}
		os.RemoveAll(work)
	}()
	srcDir, stageDir := filepath.Join(work, "src"), filepath.Join(work, "stage")
	mtime := sourceTime(c, fe)
	var extraDepends []string
	if !c.IsMeta() {
		f.emit(Event{Component: c.Name, Stage: StageBuild, Elapsed: time.Since(start)})
		buildStart := time.Now()
		if err := f.ensureBuildDeps(ctx, c, log); err != nil {
			return fail("build", err)
		}
		if err := f.fetcher.Prepare(ctx, c, fe, srcDir, log); err != nil {
			return fail("prepare source", err)
		}
		b, err := f.registry.Get(c.Build.Kind)
		if err != nil {
			return fail("build", err)
		}
		req := builders.Request{
			Component: withCommit(c, fe), SrcDir: srcDir, StageDir: stageDir,
			WorkDir: filepath.Join(work, "tmp"), Arch: f.opts.Arch, BuildArch: buildArch(),
			Env: append(source.GoEnv(f.opts.CacheDir), "GOPROXY=off",
				"SOURCE_DATE_EPOCH="+strconv.FormatInt(mtime.Unix(), 10), "TZ=UTC", "LC_ALL=C.UTF-8"),
		}
		if fe.Kind == "go_module" && len(c.Source.Patches) == 0 && len(c.Source.Delete) == 0 {
			req.Module = c.Source.GoModule
		}
		if err := checkCross(req); err != nil {
			return fail("build", err)
		}
		if err := os.MkdirAll(req.WorkDir, 0o755); err != nil {
			return fail("build", err)
		}
		shared, err := f.runCompiled(ctx, b, req, c, fe, env, log)
		if err != nil {
			return fail("build", err)
		}
		r.CompileShared = shared
		warnings, err := checkHardening(c, stageDir, log)
		if err != nil {
			return fail("hardening", err)
		}
		r.Warnings = warnings
		extraDepends, err = f.shlibDepends(ctx, stageDir, work, log)
		if err != nil {
			return fail("shlibdeps", err)
		}
		r.BuildTime = time.Since(buildStart)
	}
	if w := nameCollision(c, f.releaseNames(ctx, log)); w != "" {
		fmt.Fprintf(log, "warning: %s\n", w)
		r.Warnings = append(r.Warnings, w)
	}
	f.emit(Event{Component: c.Name, Stage: StagePackage, Elapsed: time.Since(start)})
	pkgStart := time.Now()
	snippets := make([]postinst.Snippet, 0, len(c.Package.Scripts))
	for _, s := range c.Package.Scripts {
		snippets = append(snippets, postinst.Snippet{Template: s.Template, Vars: s.Vars})
	}
	scriptDir := filepath.Join(work, "scripts")
	if err := os.MkdirAll(scriptDir, 0o755); err != nil {
		return fail("package", err)
	}
	scripts, err := postinst.Write(scriptDir, c.PackageName(), snippets)
	if err != nil {
		return fail("package", fmt.Errorf("%s: package.scripts: %w", c.File, err))
	}
	stage := stageDir
	if c.IsMeta() {
		stage = ""
	}
	deb, err := packaging.Build(packaging.Input{
		Component: c, StageDir: stage, SrcDir: srcDir, WorkDir: filepath.Join(work, "pkg"),
		Scripts: scripts, Arch: f.opts.Arch, MTime: mtime, ExtraDepends: extraDepends, History: history,
	}, debDir)
	if err != nil {
		return fail("package", err)
	}
	if err := f.writeSBOM(ctx, c, fe, deb, stage, extraDepends, mtime); err != nil {
		return fail("sbom", err)
	}
	r.PackageTime = time.Since(pkgStart)
	st, err := os.Stat(deb)
	if err != nil {
		return fail("package", err)
	}
	r.Deb, r.Size = deb, st.Size()
	return r, key
}

// HardeningError is an ELF file without a hardening feature in a build
// with build.hardening: strict.
type HardeningError struct{ Reports []hardening.Report }

func (e *HardeningError) Error() string {
	lines := make([]string, len(e.Reports))
	for i, r := range e.Reports {
		lines[i] = r.String()
	}
	return strings.Join(lines, "\n")
}

// Hint says where the flags go.
func (e *HardeningError) Hint() string {
	return `a Makefile that sets its own CFLAGS/LDFLAGS ignores the environment: pass the flags in build.vars, e.g. CFLAGS: "{{.CFLAGS}} {{.CPPFLAGS}}", LDFLAGS: "{{.LDFLAGS}}"`
}

// checkHardening checks the ELF files a C build (make, autotools,
// script) staged, as hardening-check would: each file that lacks a
// feature is a warning, or an error with build.hardening: strict. Go
// builds are left alone: the Go toolchain decides their hardening.
func checkHardening(c *spec.Component, stageDir string, log io.Writer) ([]string, error) {
	if c.Build.Kind == "go" {
		return nil, nil
	}
	reports, err := hardening.CheckTree(stageDir)
	if err != nil || len(reports) == 0 {
		return nil, err
	}
	if c.Build.Hardening == "strict" {
		return nil, &HardeningError{Reports: reports}
	}
	warnings := make([]string, len(reports))
	for i, r := range reports {
		warnings[i] = r.String() + " (set build.hardening: strict to make this an error)"
		fmt.Fprintf(log, "warning: %s\n", warnings[i])
	}
	return warnings, nil
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

// defaultEpoch is the mtime when neither SOURCE_DATE_EPOCH, the spec nor
// the source says when the source was released.
var defaultEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// sourceTime picks the mtime of every packaged file: SOURCE_DATE_EPOCH,
// else source.date, else the module's release time, else defaultEpoch.
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
	return defaultEpoch
}

// MissingDepsError names build dependencies that are not installed.
type MissingDepsError struct{ Packages []string }

func (e *MissingDepsError) Error() string {
	return "missing build dependencies: " + strings.Join(e.Packages, " ")
}

// Hint is the command that fixes it.
func (e *MissingDepsError) Hint() string {
	return "apt-get install " + strings.Join(e.Packages, " ") + " (or run with --install-deps as root)"
}

func (f *Forge) ensureBuildDeps(ctx context.Context, c *spec.Component, log io.Writer) error {
	want := c.Build.BuildDepends
	if len(want) == 0 {
		return nil
	}
	missing := f.missingPackages(ctx, want)
	if len(missing) == 0 {
		return nil
	}
	if !f.opts.InstallDeps {
		return &MissingDepsError{Packages: missing}
	}
	// One apt-get at a time: dpkg holds a global lock anyway.
	f.aptMu.Lock()
	defer f.aptMu.Unlock()
	install := execx.Cmd{Args: append([]string{"apt-get", "install", "-y", "--no-install-recommends"}, missing...), Env: []string{"DEBIAN_FRONTEND=noninteractive"}}
	if err := execx.RunLogged(ctx, f.runner, install, log); err != nil {
		update := execx.Cmd{Args: []string{"apt-get", "update"}, Env: []string{"DEBIAN_FRONTEND=noninteractive"}}
		if uerr := execx.RunLogged(ctx, f.runner, update, log); uerr != nil {
			return fmt.Errorf("install build dependencies: %w", err)
		}
		if err := execx.RunLogged(ctx, f.runner, install, log); err != nil {
			return fmt.Errorf("install build dependencies: %w", err)
		}
	}
	if still := f.missingPackages(ctx, want); len(still) > 0 {
		return &MissingDepsError{Packages: still}
	}
	return nil
}

func (f *Forge) missingPackages(ctx context.Context, pkgs []string) []string {
	var out bytes.Buffer
	args := append([]string{"dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n"}, pkgs...)
	_ = f.runner.Run(ctx, execx.Cmd{Args: args}, &out)
	installed := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		if name, status, ok := strings.Cut(line, " "); ok && status == "installed" {
			installed[name] = true
		}
	}
	var missing []string
	for _, p := range pkgs {
		if !installed[p] {
			missing = append(missing, p)
		}
	}
	return missing
}

// shlibDepends runs dpkg-shlibdeps over the dynamically linked ELF files
// in stage and returns the Depends it computes (e.g. "libc6 (>= 2.34)").
func (f *Forge) shlibDepends(ctx context.Context, stage, work string, log io.Writer) ([]string, error) {
	var dyn []string
	err := filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() && isDynamicELF(p) {
			dyn = append(dyn, p)
		}
		return nil
	})
	if err != nil || len(dyn) == 0 {
		return nil, err
	}
	dir := filepath.Join(work, "shlibs")
	if err := os.MkdirAll(filepath.Join(dir, "debian"), 0o755); err != nil {
		return nil, err
	}
	control := "Source: debforge-shlibs\n\nPackage: debforge-shlibs\nArchitecture: any\n"
	if err := os.WriteFile(filepath.Join(dir, "debian", "control"), []byte(control), 0o644); err != nil {
		return nil, err
	}
	args := []string{"dpkg-shlibdeps", "-O"}
	for _, p := range dyn {
		args = append(args, "-e"+p)
	}
	var out bytes.Buffer
	cmd := execx.Cmd{Args: args, Dir: dir}
	fmt.Fprintf(log, "+ %s\n", cmd)
	if err := f.runner.Run(ctx, cmd, io.MultiWriter(&out, log)); err != nil {
		return nil, &execx.CommandError{Cmd: cmd, Tail: out.String(), Err: err}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "shlibs:Depends="); ok {
			var deps []string
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					deps = append(deps, d)
				}
			}
			return deps, nil
		}
	}
	return nil, nil
}

func isDynamicELF(p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_DYNAMIC {
			libs, _ := f.ImportedLibraries()
			return len(libs) > 0
		}
	}
	return false
}

// hostArch maps Go's architecture to Debian's.
func hostArch() (string, error) {
	m := map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "i386", "arm": "armhf",
		"ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64", "loong64": "loong64", "mips64le": "mips64el"}
	if a, ok := m[runtime.GOARCH]; ok {
		return a, nil
	}
	return "", fmt.Errorf("no Debian architecture known for %s; pass --arch", runtime.GOARCH)
}

// ErrLocked means another debforge run holds the output directory.
var ErrLocked = errors.New("another debforge run is writing to this output directory")

// LockOut takes an exclusive lock on the output directory so that two runs
// never write the same repository. It fails at once rather than wait.
func LockOut(outDir string) (func(), error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	d, err := os.Open(outDir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w; wait for it to finish or use another --out", outDir, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", outDir, err)
	}
	return func() { d.Close() }, nil
}
