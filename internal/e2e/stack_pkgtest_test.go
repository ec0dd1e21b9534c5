//go:build stack

package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/testutil"
)

// The stack's own tests (each binary's version, runc running a
// container, the CNI plugins' VERSION, doctor, the meta-package with all
// of it) pass on all four targets, arm64 under qemu-user, with every
// package installed by apt from the published repository.
func TestStackTestsPassOnEveryTarget(t *testing.T) {
	e, _ := stack(t)
	testutil.Binfmt(t, "arm64")
	args := []string{"--specs", e.specs, "--out", e.out, "--signing-key", e.key}
	if c := os.Getenv("DEBFORGE_CACHE_DIR"); c != "" {
		args = append(args, "--cache-dir", c)
	}
	r := debforge(t, append(args, "test")...)
	t.Logf("debforge test:\n%s", r.stdout)
	if r.code != 0 {
		t.Fatalf("debforge test: exit %d\n%s\n%s", r.code, r.stdout, testutil.LastLines(r.stderr, 40))
	}
	f, err := forge.New(forge.Options{SpecsDir: e.specs})
	testutil.Must(t, err)
	rows := testRows(t, r.stdout)
	for _, c := range f.Set().Components {
		if len(c.Tests) == 0 {
			continue
		}
		for _, target := range f.Set().Repo.TargetList {
			row, ok := rows[c.Name+"@"+target.String()]
			if !ok || !strings.HasPrefix(row.result, "passed") {
				t.Errorf("%s on %s: %q, want passed", c.Name, target, row.result)
			}
		}
	}
}

// The unattended loop's plan on the real specs: it asks every tracked
// upstream, says what it would bump and build, and changes no file of
// the specs or the published repository.
func TestUpdateDryRunOnTheStackChangesNothing(t *testing.T) {
	e, _ := stack(t)
	args := []string{"--specs", e.specs, "--out", e.out, "--signing-key", e.key}
	if c := os.Getenv("DEBFORGE_CACHE_DIR"); c != "" {
		args = append(args, "--cache-dir", c)
	}
	specs, out := treeHash(t, e.specs), treeHash(t, e.out)
	// slirp4netns's upstream is a GitHub repository, unreachable here.
	r := debforge(t, append(args, "update", "--dry-run", "--except", "slirp4netns")...)
	if r.code != 0 || !strings.Contains(r.stdout, "then test every component with tests") {
		t.Fatalf("update --dry-run: exit %d, want 0 and the plan\n%s\n%s", r.code, r.stdout, testutil.LastLines(r.stderr, 20))
	}
	t.Logf("update --dry-run:\n%s", r.stdout)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if f := strings.Fields(line); len(f) < 2 || !strings.HasPrefix(line, "would") && f[0] != "outdated" {
			t.Errorf("a dry run did something: %q", line)
		}
		// The stack was just built: an Architecture: all package is
		// built once per release, not once per architecture.
		if strings.Contains(line, "not built yet") {
			t.Errorf("the plan builds what was built: %q", line)
		}
	}
	if treeHash(t, e.specs) != specs || treeHash(t, e.out) != out {
		t.Error("update --dry-run changed the specs or the repository")
	}
}
