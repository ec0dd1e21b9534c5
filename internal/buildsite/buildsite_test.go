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
