package buildsite

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/debforge/debforge/internal/executor/buildkit"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/source"
)

// Workers are the BuildKit workers of a run.
type Workers struct{ pool *buildkit.Pool }

// WorkerCache is where workers import their build layers from and
// export them to (buildkit.ParseCache); zero: nowhere.
type WorkerCache = buildkit.Cache

// ConnectWorkers connects to the workers at addrs (buildctl's --addr
// forms, optionally ARCH=ADDR), with tlsDir's files for tcp:// ones. A
// worker that cannot be reached is reported to warn and left out; none
// reachable is an error.
func ConnectWorkers(ctx context.Context, addrs []string, tlsDir string, warn func(string)) (*Workers, error) {
	pool, err := buildkit.NewPool(ctx, addrs, tlsDir, warn)
	if err != nil {
		return nil, err
	}
	return &Workers{pool: pool}, nil
}

// Close disconnects from the workers.
func (w *Workers) Close() { w.pool.Close() }

// Probe starts an empty sandbox (sandbox.Check) once, however often it is
// asked: the answer is the host's, and a probe costs a bwrap. A nil
// Probe asks every time.
type Probe struct {
	once sync.Once
	err  error
}

// Check says whether builds can be sandboxed on this host.
func (p *Probe) Check(ctx context.Context, r execx.Runner) error {
	if p == nil {
		return sandbox.Check(ctx, r, "/")
	}
	p.once.Do(func() { p.err = sandbox.Check(ctx, r, "/") })
	return p.err
}

// Unpack is the fetcher's unpack step: archive extracted into dst in the
// sandbox as the build uid (sandbox.Unpacker), with an archive over
// maxBytes reported as the source's limit. self is the hash of this
// debforge binary, which the unpack helper is keyed by.
func Unpack(ctx context.Context, cfg Config, self func() (string, error), kind, archive, dst string, strip int, maxBytes int64, log io.Writer) error {
	u := &sandbox.Unpacker{CacheDir: cfg.CacheDir, Runner: cfg.Runner, SelfSHA256: self}
	err := u.Unpack(ctx, kind, archive, dst, strip, maxBytes, log)
	if err != nil && maxBytes > 0 && strings.Contains(err.Error(), "limits.unpacked_size") {
		return fmt.Errorf("unpack %s in the sandbox: %w", filepath.Base(archive), &source.TooLargeError{Limit: maxBytes})
	}
	return err
}
