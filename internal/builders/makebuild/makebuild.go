// Package makebuild builds with a project's own Makefile.
package makebuild

import (
	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/execx"
)

// Builder is the "make" kind.
type Builder struct{}

var _ builders.Builder = (*Builder)(nil)

// New returns the make builder.
func New() *Builder { return &Builder{} }

// Kind implements builders.Builder.
func (*Builder) Kind() string { return "make" }

// Plan runs "make VARS TARGETS" then "make VARS DESTDIR=stage install".
func (*Builder) Plan(req builders.Request) ([]execx.Cmd, error) {
	b := req.Component.Build
	data := builders.CTemplate(req)
	vars, err := builders.EnvList(b.Vars, data)
	if err != nil {
		return nil, err
	}
	env, err := builders.EnvList(b.Env, data)
	if err != nil {
		return nil, err
	}
	cross, err := builders.CrossEnv(req)
	if err != nil {
		return nil, err
	}
	env = append(append(append(append([]string{}, req.Env...), req.CFlagsEnv()...), cross...), env...)
	build := append(append([]string{"make"}, vars...), b.Targets...)
	install := append(append([]string{"make"}, vars...), "DESTDIR="+req.StageDir, b.InstallTarget)
	return []execx.Cmd{
		{Args: build, Dir: req.SrcDir, Env: env},
		{Args: install, Dir: req.SrcDir, Env: env},
	}, nil
}
