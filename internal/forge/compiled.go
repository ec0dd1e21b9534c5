package forge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/debforge/debforge/internal/builders"
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
func (f *Forge) runCompiled(ctx context.Context, site *buildsite.Site, b builders.Builder, req builders.Request, c *spec.Component, fe *source.Fetched, env keyEnv, log io.Writer) (shared bool, worker string, err error) {
	cmds, err := b.Plan(req)
	if err != nil {
		return false, "", fmt.Errorf("plan: %w", err)
	}
	key, ok, err := compileKey(cmds, req, c, fe, env)
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

// compileFormat changes when the sandbox a compile runs in changes in a
// way neither its environment nor the planned commands show (its mounts,
// its limits on what a build may do).
const compileFormat = 2 // 2: trusted commands get the shared Go build cache

// compileKey is the key of a release-independent compile, and whether c
// is one: a go build with cgo off everywhere. A patched source is one
// too: the patches are applied to the unpacked source on the host, before
// any root is involved, and their content is in the key.
//
// The key is what the compile sees, not debforge's own bytes: the tree it
// starts from (hashed as unpacked and patched, so a change to how
// debforge unpacks shows), the planned commands, the sandbox's
// environment, the toolchain and the architecture. So a new debforge
// whose compiles are the same reuses them; its packages are still made
// again (the package key covers debforge).
func compileKey(cmds []execx.Cmd, req builders.Request, c *spec.Component, fe *source.Fetched, env keyEnv) (string, bool, error) {
	if fe == nil || !c.Build.PureGo() {
		return "", false, nil
	}
	tree, err := source.HashTree(req.HostSrcDir)
	if err != nil {
		return "", false, err
	}
	norm := strings.NewReplacer(req.SrcDir, "$SRC", req.StageDir, "$STAGE", req.WorkDir, "$WORK")
	h := sha256.New()
	fmt.Fprintf(h, "compile %d\ngo %s\narch %s\ntree %s\nsandbox env %q\n", compileFormat, env.toolchain, req.Arch, tree, buildsite.SandboxEnv)
	if err := hashSource(h, c, fe); err != nil {
		return "", false, err
	}
	for _, cmd := range cmds {
		fmt.Fprintf(h, "cmd %q\ndir %q\nenv %q\ntrusted %v\n", norm.Replace(strings.Join(cmd.Args, "\x00")), norm.Replace(cmd.Dir), norm.Replace(strings.Join(cmd.Env, "\x00")), cmd.Trusted)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], true, nil
}
