package buildkey

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
)

// compileFormat changes when the sandbox a compile runs in changes in a
// way neither its environment nor the planned commands show (its mounts,
// its limits on what a build may do).
const compileFormat = 2 // 2: trusted commands get the shared Go build cache

// Compile is the key of a release-independent compile, and whether c
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
func Compile(cmds []execx.Cmd, req builders.Request, c *spec.Component, fe *source.Fetched, env Env) (string, bool, error) {
	if fe == nil || !c.Build.PureGo() {
		return "", false, nil
	}
	tree, err := source.HashTree(req.HostSrcDir)
	if err != nil {
		return "", false, err
	}
	norm := strings.NewReplacer(req.SrcDir, "$SRC", req.StageDir, "$STAGE", req.WorkDir, "$WORK")
	h := sha256.New()
	fmt.Fprintf(h, "compile %d\ngo %s\narch %s\ntree %s\nsandbox env %q\n", compileFormat, env.Toolchain, req.Arch, tree, buildsite.SandboxEnv)
	if err := HashSource(h, c, fe); err != nil {
		return "", false, err
	}
	for _, cmd := range cmds {
		fmt.Fprintf(h, "cmd %q\ndir %q\nenv %q\ntrusted %v\n", norm.Replace(strings.Join(cmd.Args, "\x00")), norm.Replace(cmd.Dir), norm.Replace(strings.Join(cmd.Env, "\x00")), cmd.Trusted)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], true, nil
}
