package builders_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/builders"
	"github.com/debforge/debforge/builders/autotools"
	"github.com/debforge/debforge/builders/gobuild"
	"github.com/debforge/debforge/builders/makebuild"
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
	got, err := builders.CrossBuildDepends([]string{"libseccomp-dev", "pkg-config", "autoconf", "libfoo-dev:amd64"}, "arm64", "amd64")
	want := []string{"gcc-aarch64-linux-gnu", "libc6-dev:arm64", "libseccomp-dev:arm64", "pkg-config", "autoconf", "libfoo-dev:amd64"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("CrossBuildDepends = %v, %v\nwant %v", got, err, want)
	}
	if got, _ := builders.CrossBuildDepends([]string{"libseccomp-dev"}, "amd64", "amd64"); !slices.Equal(got, []string{"libseccomp-dev"}) {
		t.Errorf("native build depends changed: %v", got)
	}
}
