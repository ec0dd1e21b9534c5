package forge

import (
	"context"
	"io"

	"github.com/debforge/debforge/internal/buildsite"
)

// connectWorkers connects f to the workers of Options.BuildKitAddrs, once
// per run (the Forges of each target share them); the returned func
// disconnects. A worker that cannot be reached is reported and left out;
// none reachable stops the run before anything builds.
func (f *Forge) connectWorkers(ctx context.Context) (func(), error) {
	if len(f.opts.BuildKitAddrs) == 0 || f.workers != nil {
		return func() {}, nil
	}
	ws, err := buildsite.ConnectWorkers(ctx, f.opts.BuildKitAddrs, f.opts.BuildKitTLSDir, f.notify)
	if err != nil {
		return nil, err
	}
	f.workers = ws
	return func() {
		ws.Close()
		f.workers = nil
	}, nil
}

// site is where j's build runs: its sandbox, and the workers if any.
func (f *Forge) site(j *buildJob) (*buildsite.Site, error) {
	cfg := buildsite.Config{
		CacheDir: f.opts.CacheDir, Runner: f.runner, Roots: j.be.roots.Store,
		Workers: f.workers, WorkerCache: f.opts.BuildKitCache,
		OnWorker: func(addr string) { f.emit(Event{Component: j.c.Name, Stage: StageBuild, Worker: addr}) },
	}
	goroot := ""
	if j.be.tc != nil {
		goroot = j.be.tc.GOROOT
	}
	return buildsite.New(cfg, j.c, j.root, j.work, goroot)
}

// sandboxedUnpack is the fetcher's unpack step (buildsite.Unpack).
func (f *Forge) sandboxedUnpack(ctx context.Context, kind, archive, dst string, strip int, maxBytes int64, log io.Writer) error {
	cfg := buildsite.Config{CacheDir: f.opts.CacheDir, Runner: f.runner}
	return buildsite.Unpack(ctx, cfg, func() (string, error) { return selfSHA256(f.digests()) }, kind, archive, dst, strip, maxBytes, log)
}
