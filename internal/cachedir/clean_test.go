package cachedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/debforge/debforge/internal/runlock"
	"github.com/debforge/debforge/internal/testutil"
)

// clean once took no lock and deleted work dirs and packages under a
// running build (issue 9 item 16). Builds hold the cache lock shared,
// clean exclusively: clean refuses while a build runs and deletes
// nothing, and cleans once the build is done.
func TestCleanTakesTheCacheLock(t *testing.T) {
	cache := t.TempDir()
	work := filepath.Join(cache, "work", "runc-123")
	testutil.Must(t, os.MkdirAll(work, 0o755))
	unlock, err := runlock.Cache(cache, false) // what a running Build holds
	if err != nil {
		t.Fatal(err)
	}
	for _, all := range []bool{false, true} {
		if _, err := Clean(cache, 0, all); !errors.Is(err, runlock.ErrLocked) {
			t.Errorf("clean (all=%v) during a build: %v, want runlock.ErrLocked", all, err)
		}
	}
	if _, err := os.Stat(work); err != nil {
		t.Errorf("clean removed a running build's work dir: %v", err)
	}
	unlock()
	n, err := Clean(cache, 0, false)
	if err != nil || n != 1 {
		t.Errorf("clean after the build: %d, %v", n, err)
	}
}

// Kept test results and the trees of an interrupted test run go with the
// other things clean removes; the clean roots they ran in are not here.
func TestCleanRemovesKeptTestResults(t *testing.T) {
	cache := t.TempDir()
	kept := filepath.Join(cache, "tests", "results", "abc.json")
	tree := filepath.Join(cache, "tests", "work", "bookworm-amd64-1", "usr")
	testutil.Must(t, os.MkdirAll(filepath.Dir(kept), 0o755))
	testutil.Must(t, os.WriteFile(kept, []byte("{}"), 0o644))
	testutil.Must(t, os.MkdirAll(tree, 0o755))
	if n, err := Clean(cache, 0, false); err != nil || n != 2 {
		t.Errorf("clean: %d, %v; want the result and the tree", n, err)
	}
	for _, p := range []string{kept, filepath.Dir(tree)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
}
