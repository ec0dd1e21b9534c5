package forge

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
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/toolchain"
)

// connectWorkers connects f to the workers of Options.BuildKitAddrs, once
// per run (the Forges of each target share them); the returned func
// disconnects. A worker that cannot be reached is reported and left out;
// none reachable stops the run before anything builds.
func (f *Forge) connectWorkers(ctx context.Context) (func(), error) {
	if len(f.opts.BuildKitAddrs) == 0 || f.workers != nil {
		return func() {}, nil
	}
	ws, err := buildkit.NewPool(ctx, f.opts.BuildKitAddrs, f.opts.BuildKitTLSDir, f.notify)
	if err != nil {
		return nil, err
	}
	f.workers = ws
	return func() {
		ws.Close()
		f.workers = nil
	}, nil
}

// runPlan runs the commands planned for req: in the local sandbox, or on
// a BuildKit worker when there are some, and says which. Either way the
// staged files end in the host's stage dir and are stripped there, in the
// sandbox, as before.
func (f *Forge) runPlan(ctx context.Context, sb *sandbox.Sandbox, root *buildroot.Root, cmds []execx.Cmd, req builders.Request, log io.Writer) (workerAddr string, _ error) {
	if f.workers == nil {
		return "", builders.RunPlanned(ctx, sb, cmds, req, log)
	}
	rootTar, layer, err := f.rootBlobs(ctx, root, log)
	if err != nil {
		return "", err
	}
	plan := buildkit.Plan{
		Name: req.Component.Name, Job: &sb.Job, RootTar: rootTar, RootSHA256: root.TarSHA256, RootKey: root.Key, GoCache: goBuildCacheName(req.Component, root),
		Arch: root.Target.Arch, Cmds: cmds, Export: req.StageDir, Caches: []string{"/build/go/build"},
	}
	if layer != nil {
		plan.RootLayer, plan.RootDeleted = buildkit.Blob{Tar: layer.Tar, SHA256: layer.SHA256}, layer.Deleted
	}
	for _, bd := range sb.Binds {
		if bd.Path == goRootPath {
			tar, sum, err := toolchain.Tarball(ctx, f.runner, bd.Host, log)
			if err != nil {
				return "", err
			}
			plan.Trees = map[string]buildkit.Blob{bd.Path: {Tar: tar, SHA256: sum}}
		}
	}
	tried := map[*buildkit.Worker]bool{}
	for try := 1; ; try++ {
		w, err := f.workers.Take(root.Target.Arch, tried)
		if err != nil {
			return "", err
		}
		f.emit(Event{Component: req.Component.Name, Stage: StageBuild, Worker: w.Addr()})
		err = f.solveOn(ctx, w, plan, sb, req, log)
		f.workers.Release(w)
		var lost *buildkit.WorkerError
		if err == nil || !errors.As(err, &lost) || try == buildkit.MaxTries || ctx.Err() != nil {
			return w.Addr(), err
		}
		tried[w] = true
		f.workers.Lose(w)
		fmt.Fprintf(log, "debforge: %v; trying another worker (%d of %d tries)\n", err, try+1, buildkit.MaxTries)
	}
}

// solveOn runs plan on w and copies its DESTDIR into the host stage.
func (f *Forge) solveOn(ctx context.Context, w *buildkit.Worker, plan buildkit.Plan, sb *sandbox.Sandbox, req builders.Request, log io.Writer) error {
	for _, c := range plan.Cmds {
		fmt.Fprintf(log, "+ [buildkit %s] %s\n", w.Addr(), c)
	}
	out, err := os.MkdirTemp(filepath.Dir(req.HostStage()), "buildkit-out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	if err := w.Solve(ctx, plan, out, f.opts.BuildKitCache, log); err != nil {
		return err
	}
	// The export arrives owned by debforge; the stage belongs to the
	// build uid, which strips it next, as after a local build.
	if err := execx.RunLogged(ctx, f.runner, execx.Cmd{Args: []string{"cp", "-a", "--", out + "/.", req.HostStage() + "/"}}, log); err != nil {
		return fmt.Errorf("copy the worker's DESTDIR: %w", err)
	}
	if err := chownTree(req.HostStage(), sb.UID, sb.GID); err != nil {
		return err
	}
	return builders.StripELF(ctx, sb, req.HostStage(), req.StageDir, builders.StripProgram(req), log)
}

// rootBlobs is what a worker is sent of root: its base's tarball, and for
// a derived root the layer over it.
func (f *Forge) rootBlobs(ctx context.Context, root *buildroot.Root, log io.Writer) (baseTar string, layer *buildroot.Layer, err error) {
	if root.Base == "" {
		return root.Tarball, nil, nil
	}
	layer, err = f.rootStore().Layer(ctx, root, log)
	return filepath.Join(filepath.Dir(root.Base), "root.tar"), layer, err
}
