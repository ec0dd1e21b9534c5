package builders_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/builders/autotools"
	"github.com/debforge/debforge/internal/builders/gobuild"
	"github.com/debforge/debforge/internal/builders/makebuild"
	"github.com/debforge/debforge/internal/builders/script"
	"github.com/debforge/debforge/internal/spec"
)

// arm64 from an amd64 build machine: Go gets GOARCH, cgo and C builds
// Debian's cross compiler and the target's multiarch pkg-config files,
// autotools --build/--host; a native build is planned as before.
func TestCrossPlans(t *testing.T) {
	c := component(&spec.Build{Kind: "go", Binaries: []spec.GoBinary{
		{Main: ".", Dst: "/usr/bin/pure"},
		{Main: ".", Dst: "/usr/bin/cgo", Cgo: yes(), Static: true},
	}})
	req := request(c, "/src")
	req.BuildArch = "amd64"
	native, err := gobuild.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range native {
		if containsPrefix(cmd.Env, "GOARCH=") || containsPrefix(cmd.Env, "CC=") {
			t.Errorf("native build got a cross environment: %v", cmd.Env)
		}
	}
	req.Arch = "arm64"
	cross, err := gobuild.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(cross[0].Env, "GOARCH=arm64") || !contains(cross[0].Env, "CGO_ENABLED=0") || containsPrefix(cross[0].Env, "CC=") {
		t.Errorf("pure Go cross env: %v", cross[0].Env)
	}
	for _, want := range []string{"GOARCH=arm64", "CGO_ENABLED=1", "CC=aarch64-linux-gnu-gcc", "PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"} {
		if !contains(cross[1].Env, want) {
			t.Errorf("cgo cross env lacks %s: %v", want, cross[1].Env)
		}
	}

	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "configure"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ac := component(&spec.Build{Kind: "autotools", ConfigureFlags: []string{"--disable-x"}})
	req = request(ac, src)
	req.Arch, req.BuildArch = "arm64", "amd64"
	cmds, err := autotools.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cmds[0].Args, " ")
	if !strings.Contains(got, "--build=x86_64-linux-gnu --host=aarch64-linux-gnu --disable-x") || !contains(cmds[0].Env, "CC=aarch64-linux-gnu-gcc") {
		t.Errorf("autotools cross configure: %s %v", got, cmds[0].Env)
	}
	mk := component(&spec.Build{Kind: "make", Targets: []string{"all"}, InstallTarget: "install"})
	req = request(mk, src)
	req.Arch, req.BuildArch = "arm64", "amd64"
	if cmds, err := makebuild.New().Plan(req); err != nil || !contains(cmds[0].Env, "CC=aarch64-linux-gnu-gcc") {
		t.Errorf("make cross env: %v %v", cmds, err)
	}
	req.Arch = "s390x"
	if _, err := makebuild.New().Plan(req); err == nil || !strings.Contains(err.Error(), `"s390x"`) {
		t.Errorf("a cross build for an unknown architecture: %v", err)
	}
}

func TestCrossBuildDepends(t *testing.T) {
	got, err := builders.CrossBuildDepends([]string{"libseccomp-dev", "pkg-config", "autoconf", "libfoo-dev:amd64"}, "arm64", "amd64", false)
	want := []string{"gcc-aarch64-linux-gnu", "libc6-dev:arm64", "libseccomp-dev:arm64", "pkg-config", "autoconf", "libfoo-dev:amd64"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("CrossBuildDepends = %v, %v\nwant %v", got, err, want)
	}
	// post_steps of a cgo build run a native build: both flavours.
	got, _ = builders.CrossBuildDepends([]string{"libseccomp-dev", "pkg-config"}, "arm64", "amd64", true)
	if want := []string{"gcc-aarch64-linux-gnu", "libc6-dev:arm64", "libseccomp-dev", "libseccomp-dev:arm64", "pkg-config"}; !slices.Equal(got, want) {
		t.Errorf("CrossBuildDepends native = %v, want %v", got, want)
	}
	if got, _ := builders.CrossBuildDepends([]string{"libseccomp-dev"}, "amd64", "amd64", true); !slices.Equal(got, []string{"libseccomp-dev"}) {
		t.Errorf("native build depends changed: %v", got)
	}
}

// Only builds that compile C need the cross toolchain in their root; a
// cross build strips with the target's binutils.
func TestNeedsCAndStrip(t *testing.T) {
	no, on := false, true
	cases := []struct {
		b    *spec.Build
		want bool
	}{
		{nil, false},
		{&spec.Build{Kind: "go", Binaries: []spec.GoBinary{{Main: "."}}}, false},
		{&spec.Build{Kind: "go", Cgo: &on, Binaries: []spec.GoBinary{{Main: "."}}}, true},
		{&spec.Build{Kind: "go", Cgo: &on, Binaries: []spec.GoBinary{{Main: ".", Cgo: &no}}}, false},
		{&spec.Build{Kind: "go", Binaries: []spec.GoBinary{{Main: "."}, {Main: "./c", Cgo: &on}}}, true},
		{&spec.Build{Kind: "make"}, true},
		{&spec.Build{Kind: "autotools"}, true},
		{&spec.Build{Kind: "script"}, true},
	}
	for i, c := range cases {
		if got := builders.NeedsC(c.b); got != c.want {
			t.Errorf("case %d: NeedsC = %v, want %v", i, got, c.want)
		}
	}
	req := builders.Request{Arch: "arm64", BuildArch: "amd64"}
	if got := builders.StripProgram(req); got != "aarch64-linux-gnu-strip" {
		t.Errorf("cross strip = %q", got)
	}
	req.Arch = "amd64"
	if got := builders.StripProgram(req); got != "strip" {
		t.Errorf("native strip = %q", got)
	}
}

// A script's steps build for the target in a cross build: the cross C
// toolchain's variables and GOARCH; a native build says its arch.
func TestScriptCrossEnv(t *testing.T) {
	c := component(&spec.Build{Kind: "script", Steps: []string{"go build ./cmd/x"}})
	req := request(c, "/src")
	req.BuildArch = "amd64"
	native, err := script.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(native[0].Env, "DEB_HOST_ARCH=amd64") || containsPrefix(native[0].Env, "GOARCH=") || containsPrefix(native[0].Env, "CC=") {
		t.Errorf("native script env: %v", native[0].Env)
	}
	req.Arch = "arm64"
	cross, err := script.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GOARCH=arm64", "CC=aarch64-linux-gnu-gcc", "DEB_HOST_ARCH=arm64", "DEB_BUILD_ARCH=amd64"} {
		if !contains(cross[0].Env, want) {
			t.Errorf("cross script env lacks %s: %v", want, cross[0].Env)
		}
	}
}

// A cross build's post_steps run against a native build of the same
// binaries in a DESTDIR of their own (nothing is emulated); what they
// add is copied into the package, the native binaries are not.
func TestCrossPostStepsRunNativeBuild(t *testing.T) {
	c := component(&spec.Build{Kind: "go", Binaries: []spec.GoBinary{{Main: ".", Dst: "/usr/bin/hello"}},
		PostSteps: []string{`help2man -o "$DESTDIR/usr/share/man/man1/hello.1" "$DESTDIR/usr/bin/hello"`}})
	req := request(c, "/src")
	req.Arch, req.BuildArch = "arm64", "amd64"
	cmds, err := gobuild.New().Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, cmd := range cmds {
		l := strings.Join(cmd.Args, " ")
		if contains(cmd.Env, "GOARCH=arm64") {
			l = "[arm64] " + l
		}
		if contains(cmd.Env, "DESTDIR=/work/native-stage") {
			l = "[DESTDIR=native] " + l
		}
		lines = append(lines, l)
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"[arm64] go build -trimpath -buildvcs=false -mod=readonly -buildmode=pie -ldflags -s -w -bindnow -o /stage/usr/bin/hello .",
		"\ngo build -trimpath -buildvcs=false -mod=readonly -buildmode=pie -ldflags -s -w -bindnow -o /work/native-stage/usr/bin/hello .",
		"[DESTDIR=native] sh -eu -c help2man",
		"rm -f -- /work/native-stage/usr/bin/hello\ncp -a -- /work/native-stage/. /stage/",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	req.Arch = "amd64"
	native, _ := gobuild.New().Plan(req)
	if n := len(native); n != 2 || !contains(native[1].Env, "DESTDIR=/stage") {
		t.Errorf("native plan: %d commands, post step env %v", n, native[len(native)-1].Env)
	}
}
