// Package autotools builds GNU autotools projects: autogen.sh (or
// autoreconf) when there is no configure script, then configure, make and
// make install into DESTDIR.
package autotools

import (
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/debian"

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
	configure, err := configureArgs(req)
	if err != nil {
		return nil, err
	}
	configure = append(configure, flags...)
	cmds = append(cmds,
		cmd(configure...),
		cmd(append([]string{"make"}, vars...)...),
		cmd(append(append([]string{"make"}, vars...), b.InstallTarget, "DESTDIR="+req.StageDir)...),
		// libtool's .la files list dependency_libs that Debian does not
		// ship them for (policy 10.2, lintian's *-la-file checks).
		cmd("find", req.StageDir, "-name", "*.la", "-type", "f", "-delete"),
	)
	return cmds, nil
}

// configureArgs are dh_auto_configure's defaults: Debian's layout (the
// multiarch libdir, a docdir per package, /run), no maintainer mode and
// no dependency tracking (nothing is rebuilt twice), and options an older
// configure does not know only warned about.
func configureArgs(req builders.Request) ([]string, error) {
	host, err := debian.TripletOf(req.Arch)
	if err != nil {
		return nil, err
	}
	args := []string{"sh", "./configure", "--prefix=/usr", "--includedir=/usr/include", "--mandir=/usr/share/man",
		"--infodir=/usr/share/info", "--sysconfdir=/etc", "--localstatedir=/var", "--runstatedir=/run",
		"--libdir=/usr/lib/" + host, "--docdir=/usr/share/doc/" + req.Component.PackageName(),
		"--disable-option-checking", "--disable-silent-rules", "--disable-maintainer-mode", "--disable-dependency-tracking"}
	if req.IsCross() {
		build, err := debian.TripletOf(req.BuildArch)
		if err != nil {
			return nil, err
		}
		args = append(args, "--build="+build, "--host="+host)
	}
	return args, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
