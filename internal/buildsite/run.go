package buildsite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor/buildkit"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/toolchain"
)

// Run runs the commands planned for req: in the local sandbox, or on a
// BuildKit worker when the config has some, and says which. Either way
// the staged files end in the host's stage dir and are stripped there,
// in the sandbox.
func (s *Site) Run(ctx context.Context, cmds []execx.Cmd, req builders.Request, log io.Writer) (workerAddr string, _ error) {
	if s.cfg.Workers == nil {
		return "", builders.RunPlanned(ctx, s.sb, cmds, req, log)
	}
	plan, err := s.plan(ctx, cmds, req, log)
	if err != nil {
		return "", err
	}
	pool := s.cfg.Workers.pool
	tried := map[*buildkit.Worker]bool{}
	for try := 1; ; try++ {
		w, err := pool.Take(s.root.Target.Arch, tried)
		if err != nil {
			return "", err
		}
		if s.cfg.OnWorker != nil {
			s.cfg.OnWorker(w.Addr())
		}
		err = s.solveOn(ctx, w, plan, req, log)
		pool.Release(w)
		var lost *buildkit.WorkerError
		if err == nil || !errors.As(err, &lost) || try == buildkit.MaxTries || ctx.Err() != nil {
			return w.Addr(), err
		}
		tried[w] = true
		pool.Lose(w)
		fmt.Fprintf(log, "debforge: %v; trying another worker (%d of %d tries)\n", err, try+1, buildkit.MaxTries)
	}
}

// plan is the BuildKit plan of cmds: the site's job, the root as a
// worker receives it, and the Go toolchain as a tree.
func (s *Site) plan(ctx context.Context, cmds []execx.Cmd, req builders.Request, log io.Writer) (buildkit.Plan, error) {
	root := s.root
	rootTar, layer, err := s.rootBlobs(ctx, log)
	if err != nil {
		return buildkit.Plan{}, err
	}
	plan := buildkit.Plan{
		Name: req.Component.Name, Job: &s.sb.Job, RootTar: rootTar, RootSHA256: root.TarSHA256, RootKey: root.Key, GoCache: GoBuildCacheName(req.Component, root),
		Arch: root.Target.Arch, Cmds: cmds, Export: req.StageDir, Caches: []string{"/build/go/build"},
	}
	if layer != nil {
		plan.RootLayer, plan.RootDeleted = buildkit.Blob{Tar: layer.Tar, SHA256: layer.SHA256}, layer.Deleted
	}
	for _, bd := range s.sb.Binds {
		if bd.Path == GoRootPath {
			tar, sum, err := toolchain.Tarball(ctx, s.cfg.Runner, bd.Host, log)
			if err != nil {
				return buildkit.Plan{}, err
			}
			plan.Trees = map[string]buildkit.Blob{bd.Path: {Tar: tar, SHA256: sum}}
		}
	}
	return plan, nil
}

// solveOn runs plan on w and copies its DESTDIR into the host stage.
func (s *Site) solveOn(ctx context.Context, w *buildkit.Worker, plan buildkit.Plan, req builders.Request, log io.Writer) error {
	for _, c := range plan.Cmds {
		fmt.Fprintf(log, "+ [buildkit %s] %s\n", w.Addr(), c)
	}
	out, err := os.MkdirTemp(filepath.Dir(req.HostStage()), "buildkit-out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	if err := w.Solve(ctx, plan, out, s.cfg.WorkerCache, log); err != nil {
		return err
	}
	// The export arrives owned by debforge; the stage belongs to the
	// build uid, which strips it next, as after a local build.
	if err := execx.RunLogged(ctx, s.cfg.Runner, execx.Cmd{Args: []string{"cp", "-a", "--", out + "/.", req.HostStage() + "/"}}, log); err != nil {
		return fmt.Errorf("copy the worker's DESTDIR: %w", err)
	}
	if err := chownTree(req.HostStage(), s.sb.UID, s.sb.GID); err != nil {
		return err
	}
	return builders.StripELF(ctx, s.sb, req.HostStage(), req.StageDir, builders.StripProgram(req), log)
}

// rootBlobs is what a worker is sent of the site's root: its base's
// tarball, and for a derived root the layer over it.
func (s *Site) rootBlobs(ctx context.Context, log io.Writer) (baseTar string, layer *buildroot.Layer, err error) {
	root := s.root
	if root.Base == "" {
		return root.Tarball, nil, nil
	}
	layer, err = s.cfg.Roots.Layer(ctx, root, log)
	return filepath.Join(filepath.Dir(root.Base), "root.tar"), layer, err
}
