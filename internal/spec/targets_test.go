package spec_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// The release suffix scheme, checked with dpkg itself: both releases'
// builds coexist and a host upgraded from bookworm to trixie upgrades
// them; a host holding the unsuffixed build published before targets
// upgrades to either; the upstream version our packages Provide still
// satisfies what Debian's own packages of those names were.
func TestReleaseSuffixOrderingWithDpkg(t *testing.T) {
	testutil.RequireTool(t, "dpkg")
	deb12, deb13 := debian.Releases["bookworm"].Suffix, debian.Releases["trixie"].Suffix
	lt := [][2]string{
		{"2.4.2-1" + deb12, "2.4.2-1" + deb13}, // bookworm -> trixie upgrades
		{"2.4.2-1", "2.4.2-1" + deb12},         // unsuffixed, published before targets
		{"2.4.2-1", "2.4.2-1" + deb13},         //
		{"2.4.2-1" + deb13, "2.4.2-2" + deb12}, // a new revision wins over the release
		{"2.4.2-1" + deb13, "2.4.3-1" + deb12}, // and so does a new upstream
		{"2.4.2-1" + deb13, "2.4.2-1" + debian.Releases["forky"].Suffix},
		{"1.1.5+ds1-1+deb12u1", "1.5.3"},            // Debian bookworm's runc vs our Provides: runc (= 1.5.3)
		{"1.1.15+ds1-2", "1.5.3"},                   // a later Debian runc (trixie era)
		{"1.6.20~ds1-1+deb12u3", "2.4.2"},           // bookworm's containerd vs our Provides
		{"1.7.24~ds1-6", "2.4.2"},                   // a later Debian containerd (trixie era)
		{"1.6.20~ds1-1+deb12u3", "2.4.2-1" + deb12}, // and vs the full version, were names equal
		{debian.Releases["noble"].Suffix[1:], debian.Releases["resolute"].Suffix[1:]},
	}
	for _, p := range lt {
		if out, err := exec.Command("dpkg", "--compare-versions", p[0], "lt", p[1]).CombinedOutput(); err != nil {
			t.Errorf("dpkg says %s is not lower than %s (%v %s)", p[0], p[1], err, out)
		}
	}
	for _, r := range debian.Releases {
		v := "2.4.2-1" + r.Suffix
		if !debian.ReleaseSuffixRe.MatchString(v) {
			t.Errorf("%s: suffix %q not recognised as a release suffix", r.Codename, r.Suffix)
		}
		if out, err := exec.Command("dpkg", "--validate-version", v).CombinedOutput(); err != nil {
			t.Errorf("%s: %s is not a valid version: %s", r.Codename, v, out)
		}
	}
	for _, v := range []string{"2.4.2-1", "1.1.5+ds1-1+deb12u1", "1.0+dfsg-1"} {
		if debian.ReleaseSuffixRe.MatchString(v) {
			t.Errorf("%s taken for a release build", v)
		}
	}
}

func TestRepoTargets(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "debforge.yaml")
	head := "maintainer: \"A B <a@example.org>\"\n"
	testutil.Must(t, os.WriteFile(p, []byte(head+"targets: [bookworm/amd64, bookworm/arm64, trixie/amd64]\nreleases:\n  trixie: {mirror: \"http://mirror.example/debian\"}\n"), 0o644))
	r, err := spec.LoadRepo(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.TargetList) != 3 || r.TargetList[1] != (spec.Target{Release: "bookworm", Arch: "arm64"}) || r.TargetList[2].Suffix() != "+deb13" ||
		r.Releases["trixie"].Mirror != "http://mirror.example/debian" {
		t.Errorf("parsed: %+v", r)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown release", "targets: [bookworm/amd64, bullseye/amd64]\n", ":2:27: targets[1]: target \"bullseye/amd64\": unknown release \"bullseye\" (known: bookworm, forky, noble, resolute, trixie)"},
		{"unknown arch", "targets:\n  - trixie/s390x\n", ":3:5: targets[0]: target \"trixie/s390x\": unknown architecture \"s390x\" (known: amd64, arm64)"},
		{"no arch", "targets: [trixie]\n", ":2:11: targets[0]: target \"trixie\": want RELEASE/ARCH"},
		{"duplicate", "targets: [trixie/amd64, trixie/amd64]\n", ":2:25: targets[1]: duplicate target"},
		{"ubuntu without mirror", "targets: [noble/amd64]\n", ":2:10: targets: noble is an ubuntu release: its build roots need that archive's mirror"},
		{"unknown release settings", "releases:\n  buster: {mirror: \"http://x/\"}\n", ":3:11: releases.buster: unknown release"},
		{"bad mirror", "releases:\n  noble: {mirror: \"ftp://x y\"}\n", ":3:19: releases.noble.mirror: expected an http(s) or file URL"},
		{"staging without targets", "staging: true\n", ":2:10: staging: staging needs targets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.Must(t, os.WriteFile(p, []byte(head+tc.yaml), 0o644))
			_, err := spec.LoadRepo(p)
			if err == nil || !strings.Contains(err.Error(), p+tc.want) {
				t.Errorf("got %v\nwant %s%s", err, p, tc.want)
			}
		})
	}
}

func TestSkipReasonAndForTarget(t *testing.T) {
	bw64 := spec.Target{Release: "bookworm", Arch: "arm64"}
	tx := spec.Target{Release: "trixie", Arch: "amd64"}
	c := &spec.Component{Name: "x", Version: "1.0", Revision: "2", File: "specs/x.yaml", Targets: []string{"bookworm/arm64"}}
	if r := c.SkipReason(bw64); r != "" {
		t.Errorf("skipped for its own target: %s", r)
	}
	if r := c.SkipReason(tx); r != "skipped for trixie/amd64: specs/x.yaml builds only for targets bookworm/arm64" {
		t.Errorf("SkipReason = %q", r)
	}
	c = &spec.Component{Name: "x", Version: "1.0", Revision: "2", File: "specs/x.yaml", Architectures: []string{"amd64"}}
	if r := c.SkipReason(bw64); r != "skipped for bookworm/arm64: specs/x.yaml builds only for architectures amd64" {
		t.Errorf("SkipReason = %q", r)
	}
	if v := c.ForTarget(tx).DebVersion(); v != "1.0-2+deb13" || c.DebVersion() != "1.0-2" {
		t.Errorf("ForTarget: %s, original now %s", v, c.DebVersion())
	}
}
