package forge

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildkey"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
)

// A pure Go binary (cgo off) does not depend on the release it is
// packaged for: with the same toolchain, module source, flags and
// architecture it is the same file. runCompiled keeps what such a build
// installed (its stage tree) under a key of exactly those inputs (the
// planned commands, work paths replaced, the toolchain and the source's
// identity, with the spec's deletions and patches), so bookworm and trixie
// packages of one architecture share one compile. Anything else (cgo, C,
// scripts) compiles per target: it links the release's libraries.
func (f *Forge) runCompiled(ctx context.Context, site *buildsite.Site, b builders.Builder, req builders.Request, c *spec.Component, fe *source.Fetched, env buildkey.Env, log io.Writer) (shared bool, worker string, err error) {
	cmds, err := b.Plan(req)
	if err != nil {
		return false, "", fmt.Errorf("plan: %w", err)
	}
	key, ok, err := buildkey.Compile(cmds, req, c, fe, env)
	if err != nil || !ok {
		if err != nil {
			return false, "", err
		}
		worker, err := site.Run(ctx, cmds, req, log)
		return false, worker, err
	}
	// bookworm's and trixie's builds of one component, in this run or in
	// two runs sharing the cache, wait for one compile instead of both
	// compiling and writing one archive.
	unlock, err := f.lockKey(ctx, "compile-"+key, c.Name, log)
	if err != nil {
		return false, "", err
	}
	defer unlock()
	tarball := filepath.Join(f.opts.CacheDir, "compiled", key+".tar")
	if _, err := os.Stat(tarball); err == nil && !slices.Contains(f.opts.Rebuild, c.Name) {
		// debforge wrote this archive from a stage tree (tar -c stores
		// links as links, never a path through one).
		if err := execx.RunLogged(ctx, f.runner, execx.Cmd{Args: []string{"tar", "-C", req.HostStage(), "-xf", tarball}}, log); err != nil {
			return false, "", fmt.Errorf("unpack compiled %s: %w", key, err)
		}
		fmt.Fprintf(log, "debforge: reusing compile %s (same toolchain, module source, flags and arch)\n", key)
		return true, "", nil
	}
	worker, err = site.Run(ctx, cmds, req, log)
	if err != nil {
		return false, worker, err
	}
	if err := os.MkdirAll(filepath.Dir(tarball), 0o755); err != nil {
		return false, worker, err
	}
	tmp := tarball + ".tmp" // ours alone: the compile lock is held
	if err := execx.RunLogged(ctx, f.runner, execx.Cmd{Args: []string{"tar", "-C", req.HostStage(), "--sort=name", "-cf", tmp, "."}}, log); err != nil {
		os.Remove(tmp)
		return false, worker, fmt.Errorf("keep compile %s: %w", key, err)
	}
	return false, worker, os.Rename(tmp, tarball)
}
