package builders_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/builders/autotools"
	"github.com/debforge/debforge/internal/builders/gobuild"
	"github.com/debforge/debforge/internal/builders/makebuild"
	"github.com/debforge/debforge/internal/builders/script"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

func yes() *bool { b := true; return &b }

func component(b *spec.Build) *spec.Component {
	return &spec.Component{Name: "hello", Version: "1.2.3", Revision: "1",
		Source: &spec.Source{GoModule: "example.org/hello@v1.2.3", Commit: "abc123"}, Build: b}
}

func request(c *spec.Component, src string) builders.Request {
	return builders.Request{Component: c, SrcDir: src, StageDir: "/stage", WorkDir: "/work", Arch: "amd64", Env: []string{"GOPROXY=off"}}
}

func TestGoPlan(t *testing.T) {
	c := component(&spec.Build{Kind: "go", Tags: []string{"netgo"}, Ldflags: []string{"-X main.version={{.Version}}", "-X main.commit={{.Commit}}"},
		Binaries: []spec.GoBinary{
			{Main: "./cmd/hello", Dst: "/usr/bin/hello"},
			{Main: ".", Dst: "/usr/bin/hello-static", Cgo: yes(), Static: true, Tags: []string{"seccomp"}},
		}})
	cmds, err := gobuild.New().Plan(request(c, "/src"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 {
		t.Fatalf("%d commands", len(cmds))
	}
	want0 := `go build -trimpath -buildvcs=false -mod=readonly -buildmode=pie -tags netgo -ldflags '-s -w -X main.version=1.2.3 -X main.commit=abc123 -bindnow' -o /stage/usr/bin/hello ./cmd/hello`
	if got := strings.Join(quoteArgs(cmds[0].Args), " "); got != want0 {
		t.Errorf("argv\n got: %s\nwant: %s", got, want0)
	}
	if !contains(cmds[0].Env, "CGO_ENABLED=0") || !contains(cmds[0].Env, "GOPROXY=off") || cmds[0].Dir != "/src" {
		t.Errorf("env/dir: %v %s", cmds[0].Env, cmds[0].Dir)
	}
	want1 := `-buildmode=pie -tags seccomp -ldflags '-s -w -X main.version=1.2.3 -X main.commit=abc123 -linkmode external -extldflags -static-pie'`
	if got := strings.Join(quoteArgs(cmds[1].Args), " "); !strings.Contains(got, want1) {
		t.Errorf("static cgo argv lacks %s:\n%s", want1, got)
	}
	if !contains(cmds[1].Env, "CGO_ENABLED=1") || !containsPrefix(cmds[1].Env, "CGO_CFLAGS=-g -O2 -ffile-prefix-map=/src=. -fstack-protector-strong") {
		t.Errorf("cgo env: %v", cmds[1].Env)
	}
}

// A cross cgo build with post_steps also builds its binaries for the
// build machine, to run them: that build gets no flag of the target's
// (the host's gcc rejects trixie arm64's -mbranch-protection=standard).
func TestCrossCgoNativeBuildLeavesTheTargetsFlags(t *testing.T) {
	c := component(&spec.Build{Kind: "go", Cgo: yes(), Binaries: []spec.GoBinary{{Main: ".", Dst: "/usr/bin/hello"}},
		PostSteps: []string{"help2man -o \"$DESTDIR/hello.1\" \"$DESTDIR/usr/bin/hello\""}})
	req := request(c, "/src")
	req.Arch, req.BuildArch = "arm64", "amd64"
	req.Flags = &builders.Flags{CFLAGS: "-O2 -mbranch-protection=standard", LDFLAGS: "-Wl,-z,now"}
	cmds, err := gobuild.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	var cross, native int
	for _, cmd := range cmds {
		if cmd.Args[0] != "go" {
			continue
		}
		armFlags := contains(cmd.Env, "CGO_CFLAGS=-O2 -mbranch-protection=standard")
		if contains(cmd.Env, "GOARCH=arm64") {
			cross++
			if !armFlags {
				t.Errorf("the arm64 build lacks the target's flags: %v", cmd.Env)
			}
		} else {
			native++
			if armFlags {
				t.Errorf("the build machine's build has the arm64 flags: %v", cmd.Env)
			}
		}
	}
	if cross != 1 || native != 1 {
		t.Errorf("%d arm64 and %d native go commands, want one each", cross, native)
	}
}

// cgo compiles with the flags the target's dpkg-buildflags gave (trixie's
// control-flow protection, say), as the C builders do, not a fixed set.
func TestGoPlanHandsTheReleasesFlagsToCgo(t *testing.T) {
	c := component(&spec.Build{Kind: "go", Cgo: yes(), Binaries: []spec.GoBinary{{Main: ".", Dst: "/usr/bin/hello"}}})
	req := request(c, "/src")
	req.Flags = &builders.Flags{CFLAGS: "-O2 -fcf-protection", CPPFLAGS: "-D_FORTIFY_SOURCE=3", CXXFLAGS: "-O2 -fcf-protection", LDFLAGS: "-Wl,-z,now -Wl,-z,relro"}
	cmds, err := gobuild.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_CFLAGS=-O2 -fcf-protection", "CGO_CPPFLAGS=-D_FORTIFY_SOURCE=3", "CGO_CXXFLAGS=-O2 -fcf-protection", "CGO_LDFLAGS=-Wl,-z,now -Wl,-z,relro"} {
		if !contains(cmds[0].Env, want) {
			t.Errorf("cgo env lacks %s: %v", want, cmds[0].Env)
		}
	}
}

// A Go binary built with "go build" in a module's directory reports
// "(devel)" from debug.ReadBuildInfo; an unmodified module is built with
// "go install pkg@version" from the module cache instead (issue 11 item 5).
func TestGoPlanStampsModuleVersion(t *testing.T) {
	c := component(&spec.Build{Kind: "go", Binaries: []spec.GoBinary{
		{Main: ".", Dst: "/usr/bin/hello"},
		{Main: "./cmd/hello-ctl", Dst: "/usr/sbin/helloctl"},
	}})
	c.Source.GoModule = "example.org/hello/v2@v2.0.1"
	src := t.TempDir()
	goMod := filepath.Join(src, "go.mod")
	testutil.Must(t, os.WriteFile(goMod, []byte("module example.org/hello/v2\n\ngo 1.22\n"), 0o644))
	req := request(c, src)
	req.Module = "example.org/hello/v2@v2.0.1"
	req.Env = append(req.Env, "GOMODCACHE=/cache/go/mod")
	cmds, err := gobuild.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cmds {
		got = append(got, strings.Join(quoteArgs(c.Args), " "))
	}
	want := []string{
		`go install -trimpath -buildvcs=false -buildmode=pie -ldflags '-s -w -bindnow' example.org/hello/v2@v2.0.1`,
		`install -D -m 0755 /work/gopath/0/bin/hello /stage/usr/bin/hello`,
		`go install -trimpath -buildvcs=false -buildmode=pie -ldflags '-s -w -bindnow' example.org/hello/v2/cmd/hello-ctl@v2.0.1`,
		`install -D -m 0755 /work/gopath/1/bin/hello-ctl /stage/usr/sbin/helloctl`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan\n got: %s\nwant: %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !contains(cmds[0].Env, "GOPROXY=file:///cache/go/mod/cache/download") || !contains(cmds[0].Env, "GOBIN=/work/gopath/0/bin") {
		t.Errorf("go install env: %v", cmds[0].Env)
	}
	// A cross build: go install refuses GOBIN, the binary lands in
	// GOPATH/bin/linux_arm64.
	crossReq := req
	crossReq.Arch, crossReq.BuildArch = "arm64", "amd64"
	cmds, err = gobuild.New().Plan(crossReq)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cmds[1].Args, " "); got != "install -D -m 0755 /work/gopath/0/bin/linux_arm64/hello /stage/usr/bin/hello" ||
		!contains(cmds[0].Env, "GOARCH=arm64") || containsPrefix(cmds[0].Env, "GOBIN=") {
		t.Errorf("cross: %s\n%v", got, cmds[0].Env)
	}
	// go install refuses a module whose go.mod replaces modules; a tree
	// that is not the module as published (req.Module empty) is built in
	// place.
	testutil.Must(t, os.WriteFile(goMod, []byte("module example.org/hello/v2\n\nreplace example.org/x => ./x\n"), 0o644))
	for name, r := range map[string]builders.Request{"replace": req, "patched": request(c, src)} {
		cmds, err := gobuild.New().Plan(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(cmds) != 2 || cmds[0].Args[1] != "build" {
			t.Errorf("%s: want go build, got %q", name, cmds[0].Args)
		}
	}
}

// post_steps run after the go builds, in the source tree, with the
// script builder's variables (issue 11 item 3: man pages).
func TestGoPostSteps(t *testing.T) {
	c := component(&spec.Build{Kind: "go", Binaries: []spec.GoBinary{{Main: ".", Dst: "/usr/bin/hello"}},
		PostSteps: []string{`go-md2man -in man/hello.8.md -out "$DESTDIR/usr/share/man/man8/hello.8"`}})
	cmds, err := gobuild.New().Plan(request(c, "/src"))
	if err != nil {
		t.Fatal(err)
	}
	last := cmds[len(cmds)-1]
	if len(cmds) != 2 || last.Args[0] != "sh" || last.Dir != "/src" || !contains(last.Env, "DESTDIR=/stage") || !contains(last.Env, "SRC=/src") {
		t.Errorf("post step: %+v", last)
	}
}

func TestMakePlan(t *testing.T) {
	c := component(&spec.Build{Kind: "make", Targets: []string{"all"}, InstallTarget: "install", Vars: map[string]string{"PREFIX": "/usr", "VERSION": "{{.Version}}"}})
	cmds, err := makebuild.New().Plan(request(c, "/src"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cmds[0].Args, " "); got != "make PREFIX=/usr VERSION=1.2.3 all" {
		t.Errorf("build: %s", got)
	}
	if got := strings.Join(cmds[1].Args, " "); got != "make PREFIX=/usr VERSION=1.2.3 DESTDIR=/stage install" {
		t.Errorf("install: %s", got)
	}
	if !containsPrefix(cmds[0].Env, "CFLAGS=-g -O2 -ffile-prefix-map=/src=.") {
		t.Errorf("no reproducible CFLAGS: %v", cmds[0].Env)
	}
}

// A Makefile that assigns its own CFLAGS ignores the environment; vars can
// hand it the same hardening flags (issue 11 item 4).
func TestHardeningFlagsInVars(t *testing.T) {
	vars := map[string]string{"CFLAGS": "{{.CFLAGS}} {{.CPPFLAGS}} -Wall", "LDFLAGS": "{{.LDFLAGS}}"}
	f := builders.DefaultFlags("/src")
	wantC := "CFLAGS=" + f.CFLAGS + " " + f.CPPFLAGS + " -Wall"
	wantL := "LDFLAGS=-Wl,-z,relro -Wl,-z,now"
	if !strings.Contains(f.CFLAGS, "-ffile-prefix-map=/src=.") || !strings.Contains(f.CFLAGS, "-fstack-protector-strong") ||
		!strings.Contains(f.CPPFLAGS, "-D_FORTIFY_SOURCE=2") {
		t.Fatalf("hardening flags: %+v", f)
	}
	for _, kind := range []string{"make", "autotools"} {
		c := component(&spec.Build{Kind: kind, Targets: []string{"all"}, InstallTarget: "install", Vars: vars})
		var b builders.Builder = makebuild.New()
		if kind == "autotools" {
			b = autotools.New()
		}
		src := t.TempDir()
		testutil.Must(t, os.WriteFile(filepath.Join(src, "configure"), nil, 0o755))
		cmds, err := b.Plan(request(c, src))
		if err != nil {
			t.Fatal(err)
		}
		wantC := strings.ReplaceAll(wantC, "/src", src)
		var makes []execx.Cmd
		for _, cmd := range cmds {
			if cmd.Args[0] == "make" {
				makes = append(makes, cmd)
			}
		}
		if len(makes) < 2 {
			t.Fatalf("%s: %d make commands", kind, len(makes))
		}
		for _, cmd := range makes[len(makes)-2:] {
			if !contains(cmd.Args, wantC) || !contains(cmd.Args, wantL) {
				t.Errorf("%s: %q lacks %q and %q", kind, cmd.Args, wantC, wantL)
			}
		}
	}
}

func TestAutotoolsPlanDependsOnTree(t *testing.T) {
	c := component(&spec.Build{Kind: "autotools", InstallTarget: "install", ConfigureFlags: []string{"--enable-x"}})
	src := t.TempDir()
	plan := func() []string {
		cmds, err := autotools.New().Plan(request(c, src))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, c := range cmds {
			lines = append(lines, strings.Join(c.Args, " "))
		}
		return lines
	}
	got := plan()
	want := []string{"autoreconf --force --install",
		"sh ./configure --prefix=/usr --includedir=/usr/include --mandir=/usr/share/man --infodir=/usr/share/info --sysconfdir=/etc --localstatedir=/var --runstatedir=/run --libdir=/usr/lib/x86_64-linux-gnu --docdir=/usr/share/doc/hello --disable-option-checking --disable-silent-rules --disable-maintainer-mode --disable-dependency-tracking --enable-x",
		"make", "make install DESTDIR=/stage", "find /stage -name *.la -type f -delete"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("no configure:\n%s", strings.Join(got, "\n"))
	}
	testutil.Must(t, os.WriteFile(filepath.Join(src, "configure"), nil, 0o755))
	if got := plan(); got[0] != want[1] {
		t.Errorf("with configure, first step = %s", got[0])
	}
	testutil.Must(t, os.WriteFile(filepath.Join(src, "autogen.sh"), nil, 0o755))
	if got := plan(); got[0] != "sh ./autogen.sh" {
		t.Errorf("with autogen.sh, first step = %s", got[0])
	}
}

func TestScriptPlan(t *testing.T) {
	c := component(&spec.Build{Kind: "script", Steps: []string{"make", `install -D x "$DESTDIR/usr/bin/x"`}, Env: map[string]string{"FLAVOUR": "v{{.Version}}"}})
	cmds, err := script.New().Plan(request(c, "/src"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 || cmds[1].Args[0] != "sh" || cmds[1].Args[3] != `install -D x "$DESTDIR/usr/bin/x"` {
		t.Fatalf("cmds = %+v", cmds)
	}
	for _, want := range []string{"SRC=/src", "DESTDIR=/stage", "WORK=/work", "VERSION=1.2.3", "FLAVOUR=v1.2.3"} {
		if !contains(cmds[0].Env, want) {
			t.Errorf("env lacks %s", want)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := builders.NewRegistry(gobuild.New(), makebuild.New(), autotools.New(), script.New())
	if got := strings.Join(r.Kinds(), ","); got != "autotools,go,make,script" {
		t.Errorf("kinds = %s", got)
	}
	if _, err := r.Get("cmake"); err == nil || !strings.Contains(err.Error(), "known: autotools, go, make, script") {
		t.Errorf("unknown kind error = %v", err)
	}
}

// A failing command reports its argv and the end of its output.
func TestRunReportsFailure(t *testing.T) {
	c := component(&spec.Build{Kind: "script", Steps: []string{"for i in $(seq 1 100); do echo line$i; done; exit 3"}})
	req := builders.Request{Component: c, SrcDir: t.TempDir(), StageDir: t.TempDir(), WorkDir: t.TempDir()}
	err := builders.Run(context.Background(), execx.OS{}, script.New(), req, io.Discard)
	var ce *execx.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(ce.Tail, "line100") || strings.Contains(ce.Tail, "line50\n") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("tail/err wrong: %v", err)
	}
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsPrefix(list []string, p string) bool {
	for _, v := range list {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// autotools installs with the spec's install_target (as make does), into
// Debian's layout, and drops libtool's .la files.
func TestAutotoolsInstallTargetAndLayout(t *testing.T) {
	c := component(&spec.Build{Kind: "autotools", InstallTarget: "install-strip"})
	src := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(src, "configure"), nil, 0o755))
	cmds, err := autotools.New().Plan(request(c, src))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range cmds {
		lines = append(lines, strings.Join(c.Args, " "))
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"make install-strip DESTDIR=/stage", "--libdir=/usr/lib/x86_64-linux-gnu", "--runstatedir=/run", "-name *.la"} {
		if !strings.Contains(all, want) {
			t.Errorf("plan lacks %q:\n%s", want, all)
		}
	}
}

// The go command alone may write the Go build cache components share:
// only the go builder's own compiles of a pure Go binary whose spec sets
// no environment and no linker flag that starts a program are trusted;
// post_steps never are.
func TestGoPlanTrustsOnlyTheGoCommand(t *testing.T) {
	bin := []spec.GoBinary{{Main: ".", Dst: "/usr/bin/hello"}}
	for _, tc := range []struct {
		name    string
		build   spec.Build
		trusted bool
	}{
		{"pure, -X and -s", spec.Build{Ldflags: []string{"-X main.v={{.Version}}", "-X=main.c={{.Commit}} -s"}}, true},
		{"env from the spec", spec.Build{Env: map[string]string{"GOFLAGS": "-toolexec=/build/src/evil"}}, false},
		{"an external linker", spec.Build{Ldflags: []string{"-extld=/build/src/evil"}}, false},
		{"linker flags after -X", spec.Build{Ldflags: []string{"-X main.v=1 -linkmode external"}}, false},
		{"a quoted value", spec.Build{Ldflags: []string{`-X 'main.v=1 -extld=/build/src/evil'`}}, false},
		{"cgo", spec.Build{Cgo: yes()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build
			b.Kind, b.Binaries, b.PostSteps = "go", bin, []string{"help2man ./hello"}
			cmds, err := gobuild.New().Plan(request(component(&b), "/src"))
			if err != nil {
				t.Fatal(err)
			}
			build, post := cmds[0], cmds[len(cmds)-1]
			if build.Args[0] != "go" || build.Trusted != tc.trusted {
				t.Errorf("%s: trusted %v, want %v", build.Argv(), build.Trusted, tc.trusted)
			}
			if post.Trusted || post.Args[0] != "sh" {
				t.Errorf("a post step is trusted: %+v", post)
			}
		})
	}
}
