//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// tinySpecs writes debforge.yaml and one quick script-built package.
func tinySpecs(t *testing.T, version string) string {
	t.Helper()
	specs := t.TempDir()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	testutil.Must(t, os.MkdirAll(filepath.Join(specs, "src"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "src", "tiny.txt"), []byte("tiny\n"), 0o644))
	writeTiny(t, specs, version)
	return specs
}

func writeTiny(t *testing.T, specs, version string) {
	t.Helper()
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "tiny.yaml"), []byte(`name: tiny
version: `+version+`
summary: s
description: d
license: Apache-2.0
source:
  dir: src
build:
  kind: script
  steps:
    - install -D -m 0644 tiny.txt "$DESTDIR/usr/share/tiny/tiny.txt"
package:
  architecture: all
`), 0o644))
}

func indexOf(t *testing.T, e env) string {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(e.out, "repo", "dists", "fixtures", "main", "binary-amd64", "Packages"))
	return string(data)
}

// Issue 9 item 6: a publish that failed is retried by the next build
// although the pool gained nothing, and a repository whose Packages.xz
// and Release.gpg were deleted is repaired by the next build.
func TestFailedPublishIsRetried(t *testing.T) {
	specs := tinySpecs(t, "1.0.0")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("first build: exit %d\n%s", r.code, r.stderr)
	}
	// The publish of 1.0.1 fails: its snapshot directory cannot be made.
	writeTiny(t, specs, "1.0.1")
	snaps := filepath.Join(e.out, "repo", ".snapshots")
	testutil.Must(t, os.Rename(snaps, snaps+".aside"))
	testutil.Must(t, os.WriteFile(snaps, []byte("in the way\n"), 0o644))
	r := e.run(t, "build", "all")
	if r.code != 1 || !strings.Contains(r.stderr, ".snapshots") {
		t.Fatalf("build with a failing publish: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if strings.Contains(indexOf(t, e), "Version: 1.0.1-1") {
		t.Fatal("the failed publish indexed 1.0.1")
	}
	os.Remove(snaps)
	testutil.Must(t, os.Rename(snaps+".aside", snaps))
	// Nothing new for the pool now, but the index lacks 1.0.1.
	r = e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("retry: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(indexOf(t, e), "Version: 1.0.1-1") {
		t.Errorf("the retry did not publish 1.0.1:\n%s", indexOf(t, e))
	}
	// Broken behind debforge's back: repaired by the next build.
	dists := filepath.Join(e.out, "repo", "dists", "fixtures")
	os.Remove(filepath.Join(dists, "main", "binary-amd64", "Packages.xz"))
	os.Remove(filepath.Join(dists, "Release.gpg"))
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("repairing build: exit %d\n%s", r.code, r.stderr)
	}
	for _, p := range []string{filepath.Join(dists, "main", "binary-amd64", "Packages.xz"), filepath.Join(dists, "Release.gpg")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not repaired: %v", err)
		}
	}
	sh(t, "gpgv", "--keyring", filepath.Join(e.out, "repo", "fixtures-archive-keyring.gpg"), filepath.Join(dists, "Release.gpg"), filepath.Join(dists, "Release"))
	// A consistent repository is left exactly as it was.
	before := treeHash(t, filepath.Join(e.out, "repo"))
	if r := e.run(t, "build", "all"); r.code != 0 || treeHash(t, filepath.Join(e.out, "repo")) != before {
		t.Errorf("a no-op build changed the repository (exit %d)\n%s", r.code, r.stderr)
	}
}

// Issue 9 item 7: 'debforge publish' with a .deb whose data.tar.gz has a
// flipped byte names it on stderr, exits 1, and publishes the rest. The
// bad file is a real tiny 1.0.1-1 (built into another out/), so its
// control file is intact: indexed, it would show as Version: 1.0.1-1.
func TestPublishRefusesCorruptDeb(t *testing.T) {
	specs := tinySpecs(t, "1.0.0")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	writeTiny(t, specs, "1.0.1")
	other := e
	other.out = filepath.Join(tempDir(t), "out")
	r := other.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("build 1.0.1: exit %d\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	flipMember(t, data, "data.tar.gz")
	rel := "pool/main/t/tiny/tiny_1.0.1-1_all.deb"
	if err := os.WriteFile(filepath.Join(e.out, "repo", rel), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r = e.run(t, "publish")
	if r.code != 1 {
		t.Errorf("publish: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "debforge: error: publish: "+rel+" left out of the index: data.tar.gz") {
		t.Errorf("stderr does not name the bad file:\n%s", r.stderr)
	}
	idx := indexOf(t, e)
	if !strings.Contains(idx, "Version: 1.0.0-1\n") || strings.Contains(idx, "Version: 1.0.1-1") || strings.Contains(idx, "Filename: "+rel) {
		t.Errorf("index:\n%s", idx)
	}
}

// flipMember flips one byte in the middle of the named ar member of a
// .deb (inside the compressed stream, past its header).
func flipMember(t *testing.T, deb []byte, member string) {
	t.Helper()
	off := 8 // "!<arch>\n"
	for off+60 <= len(deb) {
		name := strings.TrimRight(string(deb[off:off+16]), "/ ")
		size, err := strconv.Atoi(strings.TrimSpace(string(deb[off+48 : off+58])))
		if err != nil {
			t.Fatalf("ar header at %d: %v", off, err)
		}
		if name == member {
			deb[off+60+size/2] ^= 0x55
			return
		}
		off += 60 + size + size%2
	}
	t.Fatalf("no member %s", member)
}
