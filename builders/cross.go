package builders

import (
	"fmt"
	"strings"
)

// archInfo is what a build for a Debian architecture needs to know.
type archInfo struct {
	triplet, goarch string
}

// archs are the Debian architectures debforge builds for.
var archs = map[string]archInfo{
	"amd64": {"x86_64-linux-gnu", "amd64"},
	"arm64": {"aarch64-linux-gnu", "arm64"},
}

// GoArch is the GOARCH of a Debian architecture.
func GoArch(debArch string) (string, error) {
	a, ok := archs[debArch]
	if !ok {
		return "", fmt.Errorf("no Go architecture known for Debian architecture %q", debArch)
	}
	return a.goarch, nil
}

// Triplet is the GNU triplet (and multiarch directory) of a Debian
// architecture.
func Triplet(debArch string) (string, error) {
	a, ok := archs[debArch]
	if !ok {
		return "", fmt.Errorf("no GNU triplet known for Debian architecture %q", debArch)
	}
	return a.triplet, nil
}

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
	host, err := Triplet(req.Arch)
	if err != nil {
		return nil, err
	}
	if _, err := Triplet(req.BuildArch); err != nil {
		return nil, err
	}
	return []string{
		"CC=" + host + "-gcc", "CXX=" + host + "-g++", "AR=" + host + "-ar", "STRIP=" + host + "-strip",
		"PKG_CONFIG=pkg-config",
		"PKG_CONFIG_LIBDIR=/usr/lib/" + host + "/pkgconfig:/usr/share/pkgconfig",
		"DEB_HOST_ARCH=" + req.Arch, "DEB_HOST_MULTIARCH=" + host, "DEB_BUILD_ARCH=" + req.BuildArch,
	}, nil
}

// CrossBuildDepends turns a spec's build_depends into what a build root
// of buildArch needs to build for arch: the cross compiler, and the
// target's flavour of each library -dev package (libseccomp-dev:arm64);
// tools (pkg-config, autoconf, ...) stay the build machine's. Unchanged
// for a native build.
func CrossBuildDepends(deps []string, arch, buildArch string) ([]string, error) {
	if arch == buildArch || arch == "" || buildArch == "" {
		return deps, nil
	}
	host, err := Triplet(arch)
	if err != nil {
		return nil, err
	}
	out := []string{"gcc-" + host, "libc6-dev:" + arch}
	for _, d := range deps {
		if strings.HasPrefix(d, "lib") && strings.HasSuffix(d, "-dev") && !strings.Contains(d, ":") {
			d += ":" + arch
		}
		out = append(out, d)
	}
	return out, nil
}
