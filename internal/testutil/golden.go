// Package testutil holds test helpers shared by debforge's packages.
package testutil

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// Golden compares got with the file at path; with -update it rewrites it.
func Golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s: %v (run go test -update to create it)", path, err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden file\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// RequireTool fails (in CI, DEBFORGE_REQUIRE_TOOLS=1) or skips the test
// when an external program is missing.
func RequireTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := lookPath(n); err != nil {
			if os.Getenv("DEBFORGE_REQUIRE_TOOLS") == "1" {
				t.Fatalf("required tool %s is missing (DEBFORGE_REQUIRE_TOOLS=1): install it in .ci/run", n)
			}
			t.Skipf("%s not installed", n)
		}
	}
}
