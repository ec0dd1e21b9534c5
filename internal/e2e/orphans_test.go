//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A spec that is removed leaves its package in the pool: list names it an
// orphan; remove refuses a package a spec still builds and a name the pool
// does not hold (changing nothing), then drops the orphan from the pool
// (with its SBOM) and from Packages, and apt in a bookworm root no longer
// sees it.
func TestRemovedSpecIsOrphanAndRemoveDropsIt(t *testing.T) {
	root := rootfs(t, "bookworm")
	specs := t.TempDir()
	frontSpecs(t, specs, "1.0")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	repo := filepath.Join(e.out, "repo")
	addRepo(t, root, repo)
	if out, err := aptUpdate(root); err != nil {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "apt-cache", "show", "front-evil"); err != nil || !strings.Contains(out, "Package: front-evil") {
		t.Fatalf("before removal apt must see front-evil: %v\n%s", err, out)
	}

	if err := os.Remove(filepath.Join(specs, "front-evil.yaml")); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "list")
	if r.code != 0 || !strings.Contains(r.stdout, "orphan") || !strings.Contains(r.stdout, "front-evil") ||
		!strings.Contains(r.stderr, "debforge remove PACKAGE") {
		t.Fatalf("list must name front-evil as an orphan (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "front-a") && strings.Contains(line, "orphan") {
			t.Errorf("front-a still has a spec but is listed as an orphan: %q", line)
		}
	}

	deb, _ := filepath.Glob(filepath.Join(repo, "pool", "main", "f", "front-evil", "front-evil_1.0-1_all.deb"))
	if len(deb) != 1 {
		t.Fatalf("front-evil's .deb not in the pool: %v", deb)
	}
	sbomFile := strings.TrimSuffix(deb[0], ".deb") + ".spdx.json"
	before := treeHash(t, repo)
	for _, bad := range [][]string{{"remove", "front-a"}, {"remove", "no-such-package"}} {
		r := e.run(t, bad...)
		if r.code != 2 || !strings.Contains(r.stderr, bad[1]) {
			t.Errorf("%v: exit %d, want 2 naming it:\n%s", bad, r.code, r.stderr)
		}
		if treeHash(t, repo) != before {
			t.Fatalf("%v changed the repository", bad)
		}
	}

	r = e.run(t, "remove", "front-evil")
	if r.code != 0 || strings.TrimSpace(r.stdout) != deb[0] || !strings.Contains(r.stderr, "removed front-evil 1.0-1") {
		t.Fatalf("remove: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range []string{deb[0], sbomFile} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists after remove: %v", p, err)
		}
	}
	packages := string(mustRead(t, filepath.Join(repo, "dists", "fronttest", "main", "binary-amd64", "Packages")))
	if strings.Contains(packages, "front-evil") || !strings.Contains(packages, "Package: front-a\n") {
		t.Errorf("Packages after remove:\n%s", packages)
	}
	if r := e.run(t, "list"); strings.Contains(r.stdout, "orphan") {
		t.Errorf("list still shows an orphan:\n%s", r.stdout)
	}
	addRepo(t, root, repo)
	if out, err := aptUpdate(root); err != nil || strings.Contains(out, "W:") || strings.Contains(out, "E:") {
		t.Fatalf("apt-get update after remove: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "apt-cache", "show", "front-evil"); err == nil || strings.Contains(out, "Package: front-evil") {
		t.Errorf("apt still sees front-evil after remove: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "apt-cache", "show", "front-a"); err != nil || !strings.Contains(out, "Package: front-a") {
		t.Errorf("apt lost front-a: %v\n%s", err, out)
	}
}

// publish --prune-orphans removes every orphan and names each.
func TestPublishPruneOrphans(t *testing.T) {
	specs := t.TempDir()
	frontSpecs(t, specs, "1.0")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	os.Remove(filepath.Join(specs, "front-evil.yaml"))
	r := e.run(t, "publish", "--prune-orphans")
	if r.code != 0 || !strings.Contains(r.stdout, "front-evil_1.0-1_all.deb") || !strings.Contains(r.stderr, "removed front-evil") {
		t.Fatalf("publish --prune-orphans: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	packages := string(mustRead(t, filepath.Join(e.out, "repo", "dists", "fronttest", "main", "binary-amd64", "Packages")))
	if strings.Contains(packages, "front-evil") {
		t.Errorf("Packages still lists the orphan:\n%s", packages)
	}
	if r := e.run(t, "publish", "--prune-orphans"); r.code != 0 || strings.Contains(r.stderr, "removed") {
		t.Errorf("a second prune with no orphans: exit %d\n%s", r.code, r.stderr)
	}
}
