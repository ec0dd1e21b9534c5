// Package script runs a spec's own shell steps.
package script

import (
	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/execx"
)

// Builder is the "script" kind.
type Builder struct{}

var _ builders.Builder = (*Builder)(nil)

// New returns the script builder.
func New() *Builder { return &Builder{} }

// Kind implements builders.Builder.
func (*Builder) Kind() string { return "script" }

// Plan runs each step with "sh -eu -c" in the source tree, with SRC,
// DESTDIR and WORK set. Steps are not templates: they read $VERSION etc.
func (*Builder) Plan(req builders.Request) ([]execx.Cmd, error) {
	c := req.Component
	data := c.Template()
	env, err := builders.EnvList(c.Build.Env, data)
	if err != nil {
		return nil, err
	}
	// A cross build gets the cross C toolchain's variables and GOARCH, so
	// that cc and go in the steps build for the target; DEB_HOST_ARCH and
	// DEB_BUILD_ARCH tell a step which build it is in.
	cross, err := builders.CrossEnv(req)
	if err != nil {
		return nil, err
	}
	if req.IsCross() {
		goarch, err := debian.GoArchOf(req.Arch)
		if err != nil {
			return nil, err
		}
		cross = append(cross, "GOARCH="+goarch)
	} else if req.Arch != "" && req.Arch != "all" {
		cross = append(cross, "DEB_HOST_ARCH="+req.Arch, "DEB_BUILD_ARCH="+req.Arch)
	}
	// build.env comes last so that it wins, as in the other builders.
	env = append(append(append(append(append([]string{}, req.Env...), req.CFlagsEnv()...), cross...),
		"SRC="+req.SrcDir, "DESTDIR="+req.StageDir, "WORK="+req.WorkDir,
		"NAME="+c.Name, "VERSION="+c.Version, "COMMIT="+data.CommitID), env...)
	var cmds []execx.Cmd
	for _, s := range c.Build.Steps {
		cmds = append(cmds, execx.Cmd{Args: []string{"sh", "-eu", "-c", s}, Dir: req.SrcDir, Env: env})
	}
	return cmds, nil
}
