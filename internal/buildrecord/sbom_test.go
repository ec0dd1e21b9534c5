package buildrecord

import (
	"reflect"
	"testing"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/packaging/sbom"
	"github.com/debforge/debforge/internal/spec"
)

// A static cgo binary's -dev libraries carry the versions of the build
// root it was linked in, a cross dependency (NAME:ARCH) that
// architecture's package; nothing is asked of the host, whose packages
// (none here, or other versions: this machine has libseccomp-dev
// 2.5.4-1+deb12u1) have nothing to do with the build.
func TestStaticLibsFromBuildRoot(t *testing.T) {
	c := &spec.Component{Build: &spec.Build{BuildDepends: []string{"gcc", "libseccomp-dev", "libcap-dev:arm64", "libmissing-dev", "pkg-config"}}}
	root := &buildroot.Root{Target: buildroot.Target{Release: "bookworm", Arch: "amd64"}, Packages: []buildroot.Package{
		{Name: "gcc", Arch: "amd64", Version: "4:12.2.0-3"},
		{Name: "libcap-dev", Arch: "amd64", Version: "1:2.66-4"},
		{Name: "libcap-dev", Arch: "arm64", Version: "1:2.66-4+deb12u9"},
		{Name: "libseccomp-dev", Arch: "amd64", Version: "2.5.4-1+deb12u9"},
		{Name: "libseccomp-dev", Arch: "arm64", Version: "2.5.4-1+deb12u8"},
	}}
	got := staticLibs(c, root)
	want := []sbom.Linked{
		{Package: "libseccomp-dev", Constraint: "2.5.4-1+deb12u9", Static: true},
		{Package: "libcap-dev", Constraint: "1:2.66-4+deb12u9", Static: true},
		{Package: "libmissing-dev", Static: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("staticLibs:\n got %+v\nwant %+v", got, want)
	}
}
