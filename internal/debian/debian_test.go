package debian

import (
	"slices"
	"strings"
	"testing"
)

// Of each relation the first alternative is the package linked against;
// its constraint keeps dpkg-shlibdeps' operator and version.
func TestFirstAlternativesOfShlibsDepends(t *testing.T) {
	got, err := FirstAlternatives([]string{"libc6 (>= 2.34), libseccomp2 (>= 2.5.0) | libfoo1", "libslirp0"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Relation{{"libc6", ">= 2.34"}, {"libseccomp2", ">= 2.5.0"}, {"libslirp0", ""}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := FirstAlternatives([]string{"libc6 (>= "}); err == nil {
		t.Error("a cut relation parsed")
	}
}

// Every architecture's names agree with each other, GOARCH leads back
// to the same architecture, and debforge cross-compiles C only for the
// architectures it builds.
func TestArchitecturesAgree(t *testing.T) {
	for name, a := range Archs {
		if a.Name != name || a.GoArch == "" || a.Qemu == "" || !strings.HasSuffix(a.Triplet, "-linux-gnu") && !strings.Contains(a.Triplet, "-linux-gnu") {
			t.Errorf("%s: %+v", name, a)
		}
		if back, ok := ArchOfGo(a.GoArch); !ok || back.Name != name {
			t.Errorf("GOARCH %s leads to %+v, want %s", a.GoArch, back, name)
		}
	}
	for _, b := range BuildArchs {
		if _, err := CrossArch(b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	if _, err := CrossArch("s390x"); err == nil || !strings.Contains(err.Error(), `"s390x"`) {
		t.Errorf("a cross C build for s390x: %v", err)
	}
}
