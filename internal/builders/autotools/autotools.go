// Package autotools builds GNU autotools projects: autogen.sh (or
// autoreconf) when there is no configure script, then configure, make and
// make install into DESTDIR.
package autotools

import (
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/execx"
)

// Builder is the "autotools" kind.
type Builder struct{}

var _ builders.Builder = (*Builder)(nil)

// New returns the autotools builder.
func New() *Builder { return &Builder{} }

// Kind implements builders.Builder.
func (*Builder) Kind() string { return "autotools" }

// Plan inspects (reads only) the source tree to decide whether the
// configure script must be generated first.
func (*Builder) Plan(req builders.Request) ([]execx.Cmd, error) {
	b := req.Component.Build
	data := builders.CTemplate(req)
	env, err := builders.EnvList(b.Env, data)
	if err != nil {
		return nil, err
	}
	flags, err := builders.ExpandAll(b.ConfigureFlags, data)
	if err != nil {
		return nil, err
	}
	vars, err := builders.EnvList(b.Vars, data)
	if err != nil {
		return nil, err
	}
	cross, err := builders.CrossEnv(req)
	if err != nil {
		return nil, err
	}
	env = append(append(append(append([]string{}, req.Env...), req.CFlagsEnv()...), cross...), env...)
	cmd := func(args ...string) execx.Cmd { return execx.Cmd{Args: args, Dir: req.SrcDir, Env: env} }
	var cmds []execx.Cmd
	switch {
	case exists(filepath.Join(req.HostSrc(), "autogen.sh")):
		cmds = append(cmds, cmd("sh", "./autogen.sh"))
	case !exists(filepath.Join(req.HostSrc(), "configure")):
		cmds = append(cmds, cmd("autoreconf", "--force", "--install"))
	}
	configure := []string{"sh", "./configure", "--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var"}
	if req.IsCross() {
		host, _ := builders.Triplet(req.Arch)
		build, _ := builders.Triplet(req.BuildArch)
		configure = append(configure, "--build="+build, "--host="+host)
	}
	configure = append(configure, flags...)
	cmds = append(cmds,
		cmd(configure...),
		cmd(append([]string{"make"}, vars...)...),
		cmd(append(append([]string{"make"}, vars...), "install", "DESTDIR="+req.StageDir)...),
	)
	return cmds, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
