package buildsite

import (
	"slices"
	"testing"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/spec"
)

// A pure Go component keeps one Go build cache across roots; one that
// may run cgo gets one per root, since its objects depend on the root's
// headers and libraries.
func TestGoBuildCacheIsPerRootOnlyWhereCgoMayRun(t *testing.T) {
	off, on := false, true
	pure := &spec.Component{Name: "tool", Build: &spec.Build{Kind: "go", Cgo: &off}}
	cgo := &spec.Component{Name: "runc", Build: &spec.Build{Kind: "go", Cgo: &on}}
	bookworm := &buildroot.Root{Key: "0123456789abcdef0123"}
	trixie := &buildroot.Root{Key: "fedcba9876543210fedc"}
	if a, b := GoBuildCacheName(pure, bookworm), GoBuildCacheName(pure, trixie); a != b || a != "build-tool-pure" {
		t.Errorf("pure Go caches: %s and %s, want build-tool-pure for both", a, b)
	}
	if a, b := GoBuildCacheName(cgo, bookworm), GoBuildCacheName(cgo, trixie); a == b || a != "build-runc-0123456789abcdef" {
		t.Errorf("cgo caches: %s and %s, want one per root", a, b)
	}
	if GoBuildCacheName(pure, bookworm) == TrustedGoCacheName {
		t.Error("a component's own cache is the shared trusted one")
	}
}

// dpkg-shlibdeps looks up arm64's libraries in an arm64 cross build, and
// is told nothing in a native one.
func TestShlibdepsEnvNamesTheCrossArchitecture(t *testing.T) {
	cross := builders.Request{Arch: "arm64", BuildArch: "amd64"}
	if env := shlibsEnv(cross); !slices.Contains(env, "DEB_HOST_ARCH=arm64") || !slices.Contains(env, "DEB_HOST_MULTIARCH=aarch64-linux-gnu") {
		t.Errorf("cross env: %v", env)
	}
	if env := shlibsEnv(builders.Request{Arch: "amd64", BuildArch: "amd64"}); env != nil {
		t.Errorf("native env: %v", env)
	}
}

// The root notice names the build dependencies, or says there are none
// (not "[]").
func TestRootNoticeNamesBuildDependencies(t *testing.T) {
	if got := depsText(nil); got != "(no build dependencies)" {
		t.Errorf("none: %q", got)
	}
	if got := depsText([]string{"gcc", "make"}); got != "with gcc, make" {
		t.Errorf("two: %q", got)
	}
	bw := buildroot.Target{Release: "bookworm", Arch: "amd64"}
	for _, tc := range []struct {
		deps      []string
		baseReady bool
		arch      string
		want      string
	}{
		{nil, false, "amd64", "making the build root bookworm/amd64 (no build dependencies) for runc (once; about a minute)"},
		{[]string{"gcc"}, false, "amd64", "making the build root bookworm/amd64 with gcc for runc (once; about a minute)"},
		{[]string{"gcc"}, true, "amd64", "deriving the build root bookworm/amd64 with gcc for runc (once; seconds)"},
		{[]string{"gcc-aarch64-linux-gnu"}, true, "arm64", "deriving the build root bookworm/amd64 with gcc-aarch64-linux-gnu for runc for bookworm/arm64 (once; seconds)"},
	} {
		if got := Notice(bw, tc.deps, tc.baseReady, "runc", tc.arch); got != tc.want {
			t.Errorf("notice %q\nwant   %q", got, tc.want)
		}
	}
}
