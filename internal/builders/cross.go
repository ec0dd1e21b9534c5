package builders

import (
	"strings"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/spec"
)

// IsCross reports whether req builds for another architecture than the
// machine it runs on.
func (r Request) IsCross() bool { return r.BuildArch != "" && r.Arch != "" && r.Arch != r.BuildArch }

// CrossEnv is the environment that makes C builds of req produce req.Arch
// code on a req.BuildArch machine with Debian's cross toolchain
// (gcc-<triplet>) and multiarch -dev packages (libfoo-dev:<arch>), so
// nothing is emulated while compiling. pkg-config reads only the target's
// multiarch .pc files. Nil for a native build.
func CrossEnv(req Request) ([]string, error) {
	if !req.IsCross() {
		return nil, nil
	}
	a, err := debian.CrossArch(req.Arch)
	if err != nil {
		return nil, err
	}
	if _, err := debian.CrossArch(req.BuildArch); err != nil {
		return nil, err
	}
	host := a.Triplet
	return []string{
		"CC=" + host + "-gcc", "CXX=" + host + "-g++", "AR=" + host + "-ar", "STRIP=" + host + "-strip",
		"PKG_CONFIG=pkg-config",
		"PKG_CONFIG_LIBDIR=/usr/lib/" + host + "/pkgconfig:/usr/share/pkgconfig",
		"DEB_HOST_ARCH=" + req.Arch, "DEB_HOST_MULTIARCH=" + host, "DEB_BUILD_ARCH=" + req.BuildArch,
	}, nil
}

// NeedsC reports whether building b compiles C, so that a build for
// another architecture needs the cross C toolchain and the target's -dev
// packages: make, autotools and script builds (a script may run a
// compiler), and go builds with cgo on for some binary. A pure Go cross
// build needs neither (GOARCH is enough) and runs in the native root.
func NeedsC(b *spec.Build) bool {
	if b == nil {
		return false
	}
	if b.Kind != "go" {
		return true
	}
	cgo := b.Cgo != nil && *b.Cgo
	for _, bin := range b.Binaries {
		if bin.Cgo != nil {
			if *bin.Cgo {
				return true
			}
			continue
		}
		if cgo {
			return true
		}
	}
	return cgo && len(b.Binaries) == 0
}

// CrossBuildDepends turns a spec's build_depends into what a build root
// of buildArch needs to build for arch: the cross compiler, and the
// target's flavour of each library -dev package (libseccomp-dev:arm64);
// tools (pkg-config, autoconf, ...) stay the build machine's. Unchanged
// for a native build.
//
// With native, each library -dev package is kept for the build machine
// too (libseccomp-dev and libseccomp-dev:arm64): a go build's post_steps
// run a native build of its binaries, which links the native libraries.
func CrossBuildDepends(deps []string, arch, buildArch string, native bool) ([]string, error) {
	if arch == buildArch || arch == "" || buildArch == "" {
		return deps, nil
	}
	a, err := debian.CrossArch(arch)
	if err != nil {
		return nil, err
	}
	out := []string{"gcc-" + a.Triplet, "libc6-dev:" + arch}
	for _, d := range deps {
		if strings.HasPrefix(d, "lib") && strings.HasSuffix(d, "-dev") && !strings.Contains(d, ":") {
			if native {
				out = append(out, d)
			}
			d += ":" + arch
		}
		out = append(out, d)
	}
	return out, nil
}
