// Package gobuild builds Go main packages with "go build", or with "go
// install module/pkg@version" when the source is an unmodified module, so
// the binary's build info carries the module's version.
package gobuild

import (
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/debian"

	"golang.org/x/mod/modfile"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// Builder is the "go" kind.
type Builder struct{}

var _ builders.Builder = (*Builder)(nil)

// New returns the go builder.
func New() *Builder { return &Builder{} }

// Kind implements builders.Builder.
func (*Builder) Kind() string { return "go" }

// Plan returns one build per binary. Every build is -trimpath with
// stripped symbols, so output is reproducible and lean.
//
// "go build" in a module's directory stamps "(devel)" as the main
// module's version in the build info (debug.ReadBuildInfo): without a
// VCS checkout, the go command only knows a main module's version when
// it builds "module/pkg@version" itself. So an unmodified module from the
// module cache (req.Module) is built with "go install pkg@version",
// offline: the module cache's download directory serves as the proxy.
// go install refuses a module whose go.mod replaces or excludes modules;
// those, patched sources and local trees are built with "go build".
func (*Builder) Plan(req builders.Request) ([]execx.Cmd, error) {
	c := req.Component
	b := c.Build
	data := c.Template()
	env, err := builders.EnvList(b.Env, data)
	if err != nil {
		return nil, err
	}
	// A cross build names its GOARCH; cgo then needs the cross C
	// toolchain too. A native build's environment stays as it was.
	var cross []string
	if req.IsCross() {
		goarch, err := debian.GoArchOf(req.Arch)
		if err != nil {
			return nil, err
		}
		cross = append(cross, "GOARCH="+goarch)
	}
	crossC, err := builders.CrossEnv(req)
	if err != nil {
		return nil, err
	}
	cmds, err := buildBinaries(req, req.StageDir, "gopath", cross, crossC, data, env)
	if err != nil {
		return nil, err
	}
	if len(b.PostSteps) == 0 {
		return cmds, nil
	}
	// post_steps run in the source tree once every binary is staged, so
	// they can run them (help2man) or read the tree (go-md2man). A cross
	// build's binaries cannot run here without emulation (and Go programs
	// under qemu-user have been seen to hang): its post_steps run against
	// a native build of the same binaries, in a DESTDIR of their own, and
	// what they add is then copied into the package. The native compile
	// shares the build cache of the native build of the same root.
	stage := req.StageDir
	if req.IsCross() {
		stage = filepath.Join(req.WorkDir, "native-stage")
		// Not the target's C flags: they may name options the build
		// machine's gcc lacks (trixie arm64's -mbranch-protection), and
		// this build only runs here, for post_steps; it is never shipped.
		nativeReq := req
		nativeReq.Flags = nil
		native, err := buildBinaries(nativeReq, stage, "gopath-native", nil, nil, data, env)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, native...)
	}
	stepEnv := append(append([]string{}, req.Env...), "SRC="+req.SrcDir, "DESTDIR="+stage,
		"WORK="+req.WorkDir, "NAME="+c.Name, "VERSION="+c.Version)
	for _, s := range b.PostSteps {
		cmds = append(cmds, execx.Cmd{Args: []string{"sh", "-eu", "-c", s}, Dir: req.SrcDir, Env: append(stepEnv, env...)})
	}
	if req.IsCross() {
		rm := []string{"rm", "-f", "--"}
		for _, bin := range b.Binaries {
			rm = append(rm, filepath.Join(stage, bin.Dst))
		}
		cmds = append(cmds,
			execx.Cmd{Args: rm, Dir: req.WorkDir},
			execx.Cmd{Args: []string{"cp", "-a", "--", stage + "/.", req.StageDir + "/"}, Dir: req.WorkDir})
	}
	return cmds, nil
}

// buildBinaries plans the build of every binary of req into stageDir,
// for req.Arch when cross is set (GOARCH, and crossC for cgo), else for
// the build machine. gopathDir names the scratch GOPATH under WorkDir.
func buildBinaries(req builders.Request, stageDir, gopathDir string, cross, crossC []string, data spec.TemplateData, env []string) ([]execx.Cmd, error) {
	b := req.Component.Build
	proxy, module, version := installFrom(req)
	var cmds []execx.Cmd
	for i, bin := range b.Binaries {
		var mod []string
		if proxy == "" {
			mod = []string{"-mod=readonly"} // go install pkg@version takes no -mod
		}
		args, cmdEnv, err := goCommand(req, bin, data, cross, crossC, mod...)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(stageDir, bin.Dst)
		// Only the go command runs, on the flags toolchainOnly checked:
		// its cache entries are what it computed, so a sandbox may give
		// it the cache the go command shares across components.
		trusted := toolchainOnly(b, bin, data)
		if proxy == "" {
			args = append(args, "-o", dst, bin.Main)
			cmds = append(cmds, execx.Cmd{Args: append([]string{"go", "build"}, args...), Dir: req.SrcDir, Env: append(cmdEnv, env...), Trusted: trusted})
			continue
		}
		pkg := path.Join(module, bin.Main)
		// go install refuses GOBIN for a cross build; it then installs
		// into GOPATH/bin/GOOS_GOARCH.
		gopath := filepath.Join(req.WorkDir, gopathDir, strconv.Itoa(i))
		built := filepath.Join(gopath, "bin", execName(pkg))
		cmdEnv = append(cmdEnv, "GOPROXY="+proxy, "GOPATH="+gopath)
		if len(cross) > 0 {
			built = filepath.Join(gopath, "bin", "linux_"+strings.TrimPrefix(cross[0], "GOARCH="), execName(pkg))
		} else {
			cmdEnv = append(cmdEnv, "GOBIN="+filepath.Dir(built))
		}
		cmds = append(cmds,
			execx.Cmd{Args: append(append([]string{"go", "install"}, args...), pkg+"@"+version), Dir: req.WorkDir, Env: append(cmdEnv, env...), Trusted: trusted},
			execx.Cmd{Args: []string{"install", "-D", "-m", "0755", built, dst}, Dir: req.WorkDir})
	}
	return cmds, nil
}

// goCommand returns the flags and environment shared by go build and go
// install for one binary.
func goCommand(req builders.Request, bin spec.GoBinary, data spec.TemplateData, cross, crossC []string, extra ...string) ([]string, []string, error) {
	cgo, tags, flags, err := options(req.Component.Build, bin, data)
	if err != nil {
		return nil, nil, err
	}
	// -s -w strip symbols and DWARF. The Go build id stays: it is
	// content-derived (stable under -trimpath) and lintian recognises
	// Go binaries by its note.
	ldflags := append([]string{"-s", "-w"}, flags...)
	args := append([]string{"-trimpath", "-buildvcs=false"}, extra...)
	env := append(append([]string{}, req.Env...), cross...)
	// Every Go binary is PIE with read-only relocations and immediate
	// binding, as hardening-check asks of any Debian binary; a PIE is no
	// longer what lintian's statically-linked-binary is about.
	args = append(args, "-buildmode=pie")
	if cgo {
		env = append(env, crossC...)
		// cgo compiles C with the target release's dpkg-buildflags, as
		// dh-golang hands them on; linked by gcc, so CGO_LDFLAGS' relro
		// and now apply.
		f := req.BuildFlags()
		env = append(env, "CGO_ENABLED=1", "CGO_CFLAGS="+f.CFLAGS, "CGO_CPPFLAGS="+f.CPPFLAGS,
			"CGO_CXXFLAGS="+f.CXXFLAGS, "CGO_LDFLAGS="+f.LDFLAGS)
		ldflags = append(ldflags, "-linkmode", "external")
		if bin.Static {
			ldflags = append(ldflags, "-extldflags", "-static-pie")
		}
	} else {
		// The go linker links a PIE itself (relro included); -bindnow
		// (Go 1.22 and later) is its -z now.
		env = append(env, "CGO_ENABLED=0")
		ldflags = append(ldflags, "-bindnow")
	}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	return append(args, "-ldflags", strings.Join(ldflags, " ")), env, nil
}

// options are bin's cgo switch, tags and expanded linker flags: its own
// where it sets them, else the build's.
func options(b *spec.Build, bin spec.GoBinary, data spec.TemplateData) (cgo bool, tags, ldflags []string, err error) {
	cgo = b.Cgo != nil && *b.Cgo
	if bin.Cgo != nil {
		cgo = *bin.Cgo
	}
	tags = b.Tags
	if bin.Tags != nil {
		tags = bin.Tags
	}
	ldflags = b.Ldflags
	if bin.Ldflags != nil {
		ldflags = bin.Ldflags
	}
	ldflags, err = builders.ExpandAll(ldflags, data)
	return cgo, tags, ldflags, err
}

// toolchainOnly says whether building bin runs the go command and
// nothing else: no environment from the spec (GOFLAGS=-toolexec, PATH or
// HOME could each start a program of its own), cgo off (no C compiler)
// and linker flags that only strip and set strings (-s, -w, -X
// name=value without quotes), since -extld, -extldflags or -linkmode
// would have the link run a program the spec names.
func toolchainOnly(b *spec.Build, bin spec.GoBinary, data spec.TemplateData) bool {
	cgo, _, ldflags, err := options(b, bin, data)
	if err != nil || cgo || len(b.Env) > 0 {
		return false
	}
	fields := strings.Fields(strings.Join(ldflags, " "))
	for i := 0; i < len(fields); i++ {
		switch f := fields[i]; {
		case f == "-s" || f == "-w":
		case f == "-X" && i+1 < len(fields) && plainAssignment(fields[i+1]):
			i++
		case strings.HasPrefix(f, "-X=") && plainAssignment(f[len("-X="):]):
		default:
			return false
		}
	}
	return true
}

// plainAssignment is name=value with no quote, which the go command's
// flag splitting would read as joining the fields around it.
func plainAssignment(s string) bool {
	return strings.Contains(s, "=") && !strings.ContainsAny(s, `'"\`)
}

// installFrom returns the offline proxy (the module cache's download
// directory), module path and version to "go install" from, or "" when
// the source must be built in place.
func installFrom(req builders.Request) (proxy, module, version string) {
	module, version, ok := strings.Cut(req.Module, "@")
	if !ok {
		return "", "", ""
	}
	var modcache string
	for _, e := range req.Env {
		if v, ok := strings.CutPrefix(e, "GOMODCACHE="); ok {
			modcache = v
		}
	}
	if modcache == "" || !filepath.IsAbs(modcache) {
		return "", "", ""
	}
	data, err := os.ReadFile(filepath.Join(req.HostSrc(), "go.mod"))
	if err != nil {
		return "", "", ""
	}
	mf, err := modfile.Parse("go.mod", data, nil) // ParseLax skips replace and exclude
	if err != nil || len(mf.Replace) > 0 || len(mf.Exclude) > 0 {
		return "", "", ""
	}
	return "file://" + filepath.Join(modcache, "cache", "download"), module, version
}

// execName is the file name go install gives pkg's binary: its last
// path element, or the one before a major-version suffix (x/v2 -> x).
func execName(pkg string) string {
	dir, elem := path.Split(pkg)
	if isVersionElement(elem) && dir != "" {
		elem = path.Base(dir)
	}
	return elem
}

func isVersionElement(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' || s[1] == '1' && len(s) == 2 {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
