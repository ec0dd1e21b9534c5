// Package buildsite sets up where one component's build runs, and runs
// it there: the work directories handed to the build uid, the sandbox
// with its binds and Go caches, the release's C flags, and the planned
// commands on the local sandbox or on a BuildKit worker (with its
// retries and the copy-back of DESTDIR). forge decides what is built, in
// which order and under which cache key; this is the one package that
// knows the two executors, and they do not know each other.
package buildsite

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/executor"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// GoRootPath is where builds find the pinned Go toolchain.
const GoRootPath = "/usr/local/go"

// SandboxEnv is the environment every sandboxed command starts from: a
// compile key names it, since it shapes what a compile produces.
var SandboxEnv = sandbox.DefaultEnv

// Config is what every site of a run shares.
type Config struct {
	// CacheDir holds the Go caches (go/), the C flags of each root
	// (buildflags/) and the unpack helper.
	CacheDir string
	Runner   execx.Runner
	// Roots makes the layer a worker is sent of a derived root.
	Roots *buildroot.Store
	// Workers run the builds; nil: the local sandbox.
	Workers *Workers
	// WorkerCache is where workers import and export their build layers.
	WorkerCache WorkerCache
	// OnWorker is told the worker each try of a build goes to.
	OnWorker func(addr string)
}

// Site is one build of one component in one root.
type Site struct {
	cfg  Config
	c    *spec.Component
	root *buildroot.Root
	sb   *sandbox.Sandbox
}

// New hands the build's directories under work to the build uid and
// returns the site its commands run in. Only the source copy, DESTDIR,
// the scratch dirs and the component's own Go build cache are writable
// (and, for trusted commands alone, the shared one: TrustedGoCacheName);
// the Go module cache, the toolchain (goroot, when set) and the root are
// read-only. The shlibs dir stays owned by debforge (read-only inside)
// so the build cannot plant links where debforge writes.
func New(cfg Config, c *spec.Component, root *buildroot.Root, work, goroot string) (*Site, error) {
	if err := sandbox.CheckReachable(work); err != nil {
		return nil, err
	}
	uid, gid, err := sandbox.BuildIDs()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"src", "stage", "tmp", "home"} {
		if err := chownTree(filepath.Join(work, d), uid, gid); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "shlibs"), 0o755); err != nil {
		return nil, err
	}
	modCache := filepath.Join(cfg.CacheDir, "go", "mod")
	if err := os.MkdirAll(modCache, 0o755); err != nil {
		return nil, err
	}
	buildCache := filepath.Join(cfg.CacheDir, "go", GoBuildCacheName(c, root))
	if err := ownDir(buildCache, uid, gid); err != nil {
		return nil, err
	}
	sb := &sandbox.Sandbox{Job: executor.Job{
		Root: root.FS,
		Env:  sandbox.DefaultEnv,
		Binds: []executor.Bind{
			{Host: filepath.Join(work, "src"), Path: "/build/src", Write: true},
			{Host: filepath.Join(work, "stage"), Path: "/build/stage", Write: true},
			{Host: filepath.Join(work, "tmp"), Path: "/build/tmp", Write: true},
			{Host: filepath.Join(work, "home"), Path: "/build/home", Write: true},
			{Host: filepath.Join(work, "shlibs"), Path: "/build/shlibs"},
			{Host: modCache, Path: "/build/go/mod"},
			{Host: buildCache, Path: "/build/go/build", Write: true},
		},
		UID: uid, GID: gid,
		Limits: &executor.Limits{DataBytes: c.Limits.MemoryBytes(), Processes: c.Limits.ProcessCount()},
	}, Runner: cfg.Runner}
	if goroot != "" {
		sb.Binds = append(sb.Binds, executor.Bind{Host: goroot, Path: GoRootPath})
	}
	if c.Build.PureGo() {
		shared := filepath.Join(cfg.CacheDir, "go", TrustedGoCacheName)
		if err := ownDir(shared, uid, gid); err != nil {
			return nil, err
		}
		// In place of the component's own: a BuildKit worker ignores
		// this and keeps each component's cache to itself.
		sb.TrustedBinds = []executor.Bind{{Host: shared, Path: "/build/go/build", Write: true}}
	}
	return &Site{cfg: cfg, c: c, root: root, sb: sb}, nil
}

// Env is the environment the site's commands start from.
func (s *Site) Env() []string { return s.sb.Env }

// ShlibDepends runs dpkg-shlibdeps in the sandbox on the ELF files of
// the host stage dir (the sandbox's /build/stage) and returns the
// Depends it computed; work is the site's work dir.
func (s *Site) ShlibDepends(ctx context.Context, req builders.Request, hostStage, work string, log io.Writer) ([]string, error) {
	return sandbox.ShlibDepends(ctx, s.sb, hostStage, "/build/stage", filepath.Join(work, "shlibs"), "/build/shlibs", shlibsEnv(req), log)
}

// shlibsEnv makes dpkg-shlibdeps look up the target architecture's
// libraries (its multiarch directory, the :arch packages' shlibs and
// symbols files) in a cross build; nothing in a native one.
func shlibsEnv(req builders.Request) []string {
	if !req.IsCross() {
		return nil
	}
	t, err := debian.TripletOf(req.Arch)
	if err != nil {
		return nil
	}
	return []string{"DEB_HOST_ARCH=" + req.Arch, "DEB_HOST_MULTIARCH=" + t, "DEB_HOST_GNU_TYPE=" + t}
}
