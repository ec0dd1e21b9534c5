package debian

import (
	"fmt"
	"slices"
	"strings"
)

// Arch is what debforge knows of a Debian architecture.
type Arch struct {
	// Name is Debian's (dpkg --print-architecture).
	Name string
	// GoArch is the Go toolchain's GOARCH.
	GoArch string
	// Triplet is the GNU triplet, also the multiarch directory and the
	// prefix of Debian's cross toolchain (gcc-<triplet>).
	Triplet string
	// Qemu is qemu-user's name (qemu-<Qemu>), which also names its
	// binfmt_misc entry.
	Qemu string
}

// Archs are the Debian architectures debforge knows, by name.
var Archs = map[string]Arch{
	"amd64":    {"amd64", "amd64", "x86_64-linux-gnu", "x86_64"},
	"arm64":    {"arm64", "arm64", "aarch64-linux-gnu", "aarch64"},
	"armhf":    {"armhf", "arm", "arm-linux-gnueabihf", "arm"},
	"i386":     {"i386", "386", "i386-linux-gnu", "i386"},
	"ppc64el":  {"ppc64el", "ppc64le", "powerpc64le-linux-gnu", "ppc64le"},
	"s390x":    {"s390x", "s390x", "s390x-linux-gnu", "s390x"},
	"riscv64":  {"riscv64", "riscv64", "riscv64-linux-gnu", "riscv64"},
	"loong64":  {"loong64", "loong64", "loongarch64-linux-gnu", "loongarch64"},
	"mips64el": {"mips64el", "mips64le", "mips64el-linux-gnuabi64", "mips64el"},
}

// BuildArchs are the architectures debforge builds packages for: those it
// can build on an amd64 or arm64 host, natively or with Debian's cross
// toolchain. Only these are targets.
var BuildArchs = []string{"amd64", "arm64"}

// LookupArch returns the architecture named name.
func LookupArch(name string) (Arch, error) {
	a, ok := Archs[name]
	if !ok {
		return Arch{}, fmt.Errorf("unknown Debian architecture %q", name)
	}
	return a, nil
}

// ArchOfGo returns the Debian architecture of a GOARCH.
func ArchOfGo(goarch string) (Arch, bool) {
	for _, a := range Archs {
		if a.GoArch == goarch {
			return a, true
		}
	}
	return Arch{}, false
}

// TripletOf is the GNU triplet of the architecture named name.
func TripletOf(name string) (string, error) {
	a, err := LookupArch(name)
	return a.Triplet, err
}

// GoArchOf is the GOARCH of the architecture named name.
func GoArchOf(name string) (string, error) {
	a, err := LookupArch(name)
	return a.GoArch, err
}

// QemuOf is qemu-user's name of the architecture named name.
func QemuOf(name string) (string, error) {
	a, err := LookupArch(name)
	return a.Qemu, err
}

// CrossArch is the architecture named name when debforge cross-compiles
// C for it (one of BuildArchs): Debian has cross toolchains for others,
// but debforge has not built with them.
func CrossArch(name string) (Arch, error) {
	if !slices.Contains(BuildArchs, name) {
		return Arch{}, fmt.Errorf("no cross build for Debian architecture %q: debforge builds C for %s", name, strings.Join(BuildArchs, " and "))
	}
	return LookupArch(name)
}
