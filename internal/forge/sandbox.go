package forge

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/spec"
)

// sandboxFor hands the build's directories to the build uid and returns
// the sandbox its commands run in. Only the source copy, DESTDIR, the
// scratch dirs and the component's own Go build cache are writable (and,
// for trusted commands alone, the shared one: trustedGoCacheName); the Go
// module cache, the toolchain and the root are read-only. The shlibs dir
// stays owned by debforge (read-only inside) so the build cannot plant
// links where debforge writes.
func (f *Forge) sandboxFor(be *buildEnv, c *spec.Component, root *buildroot.Root, work string) (*sandbox.Sandbox, error) {
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
	modCache := filepath.Join(f.opts.CacheDir, "go", "mod")
	if err := os.MkdirAll(modCache, 0o755); err != nil {
		return nil, err
	}
	buildCache := filepath.Join(f.opts.CacheDir, "go", goBuildCacheName(c, root))
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
	}, Runner: f.runner}
	if be.tc != nil {
		sb.Binds = append(sb.Binds, executor.Bind{Host: be.tc.GOROOT, Path: goRootPath})
	}
	if c.Build.PureGo() {
		shared := filepath.Join(f.opts.CacheDir, "go", trustedGoCacheName)
		if err := ownDir(shared, uid, gid); err != nil {
			return nil, err
		}
		// In place of the component's own: a BuildKit worker ignores
		// this and keeps each component's cache to itself.
		sb.TrustedBinds = []executor.Bind{{Host: shared, Path: "/build/go/build", Write: true}}
	}
	return sb, nil
}

// chownTree creates dir if needed and gives it and everything in it to
// uid:gid without following links.
func chownTree(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// ownDir makes dir belong to uid:gid, walking it only when it does not
// already (a shared cache is handed over once).
func ownDir(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if owner(dir) == uid {
		return nil
	}
	return chownTree(dir, uid, gid)
}

// goRootPath is where builds find the pinned Go toolchain.
const goRootPath = "/usr/local/go"
