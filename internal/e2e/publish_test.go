//go:build integration

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinySpecs writes debforge.yaml and one quick script-built package.
func tinySpecs(t *testing.T, version string) string {
	t.Helper()
	specs := t.TempDir()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	os.MkdirAll(filepath.Join(specs, "src"), 0o755)
	os.WriteFile(filepath.Join(specs, "src", "tiny.txt"), []byte("tiny\n"), 0o644)
	writeTiny(t, specs, version)
	return specs
}

func writeTiny(t *testing.T, specs, version string) {
	t.Helper()
	os.WriteFile(filepath.Join(specs, "tiny.yaml"), []byte(`name: tiny
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
`), 0o644)
}

func indexOf(t *testing.T, e env) string {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(e.out, "repo", "dists", "fixtures", "main", "binary-amd64", "Packages"))
	return string(data)
}

// Issue 9 item 6: a publish that failed is retried by the next build
// although the pool gained nothing, and a repository whose Packages.xz
// and Release.gpg were deleted is repaired by the next build.
func TestIssue9Item6FailedPublishIsRetried(t *testing.T) {
	specs := tinySpecs(t, "1.0.0")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("first build: exit %d\n%s", r.code, r.stderr)
	}
	// The publish of 1.0.1 fails: its snapshot directory cannot be made.
	writeTiny(t, specs, "1.0.1")
	snaps := filepath.Join(e.out, "repo", ".snapshots")
	os.Rename(snaps, snaps+".aside")
	os.WriteFile(snaps, []byte("in the way\n"), 0o644)
	r := e.run(t, "build", "all")
	if r.code != 1 || !strings.Contains(r.stderr, ".snapshots") {
		t.Fatalf("build with a failing publish: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if strings.Contains(indexOf(t, e), "Version: 1.0.1-1") {
		t.Fatal("the failed publish indexed 1.0.1")
	}
	os.Remove(snaps)
	os.Rename(snaps+".aside", snaps)
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
// flipped byte names it on stderr, exits 1, and publishes the rest.
func TestIssue9Item7PublishRefusesCorruptDeb(t *testing.T) {
	specs := tinySpecs(t, "1.0.0")
	e := newEnv(t, specs)
	r := e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	good := strings.TrimSpace(r.stdout)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt a copy under another version, so the good one stays.
	i := bytes.Index(data, []byte("data.tar.gz"))
	if i < 0 {
		t.Fatal("no data.tar.gz member")
	}
	data[i+60+200] ^= 0xff
	bad := filepath.Join(filepath.Dir(good), "tiny_1.0.0-2_all.deb")
	os.WriteFile(bad, bytes.Replace(data, []byte("Version: 1.0.0-1"), []byte("Version: 1.0.0-2"), 1), 0o644)
	r = e.run(t, "publish")
	if r.code != 1 {
		t.Errorf("publish: exit %d, want 1\n%s", r.code, r.stderr)
	}
	rel := "pool/main/t/tiny/tiny_1.0.0-2_all.deb left out of the index"
	if !strings.Contains(r.stderr, "debforge: error: publish: "+rel) {
		t.Errorf("stderr does not name the bad file:\n%s", r.stderr)
	}
	if idx := indexOf(t, e); !strings.Contains(idx, "Version: 1.0.0-1") || strings.Contains(idx, "Version: 1.0.0-2") {
		t.Errorf("index:\n%s", idx)
	}
}
