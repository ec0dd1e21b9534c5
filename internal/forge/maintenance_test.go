package forge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/runlock"
	"github.com/debforge/debforge/internal/testutil"
)

// Issue 9 item 16: 'publish' failed when the cache dir was missing,
// although README says removing the cache is always safe.
func TestPublishWithoutCacheDir(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.asc")
	if _, err := aptrepo.CreateKey(key, "T", "t@example.org"); err != nil {
		t.Fatal(err)
	}
	f := keyTestForge(t, dir, Options{SigningKey: key}, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	os.RemoveAll(f.opts.CacheDir)
	if err := f.Publish(t.Context()); err != nil {
		t.Fatalf("publish without a cache dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "repo", "dists", "kt", "InRelease")); err != nil {
		t.Error(err)
	}
}

// A build refuses while clean runs (cachedir's tests check that clean
// refuses while a build runs, and deletes nothing).
func TestBuildRefusedDuringClean(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.asc")
	aptrepo.CreateKey(key, "T", "t@example.org")
	f := keyTestForge(t, dir, Options{SigningKey: key}, time.Now())
	unlockClean, err := runlock.Cache(f.opts.CacheDir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unlockClean()
	if _, err := f.Build(t.Context(), nil); !errors.Is(err, runlock.ErrLocked) {
		t.Errorf("build during clean: %v, want runlock.ErrLocked", err)
	}
	if err := f.Publish(t.Context()); !errors.Is(err, runlock.ErrLocked) {
		t.Errorf("publish during clean: %v, want runlock.ErrLocked", err)
	}
}

// Issue 9 item 16: a failed build on a fresh out/ generated a key and
// published an empty repository.
func TestFailedBuildOnFreshOutPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	specs := filepath.Join(dir, "specs")
	testutil.Must(t, os.MkdirAll(specs, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"T <t@example.org>\"\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "broken.yaml"), []byte("name: broken\nversion: \"1.0\"\nsummary: s\ndescription: d\nlicense: Apache-2.0\nsource: {dir: missing}\nbuild: {kind: make}\n"), 0o644))
	key := filepath.Join(dir, "default-key.asc")
	f, err := New(Options{SpecsDir: specs, OutDir: filepath.Join(dir, "out"), CacheDir: filepath.Join(dir, "cache"),
		SigningKey: key, CreateKey: true, Arch: "amd64", Runner: &execx.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	results, err := f.Build(t.Context(), nil)
	if err == nil || len(results) != 1 || results[0].Err == nil {
		t.Fatalf("the broken component built: %v %+v", err, results)
	}
	if strings.Contains(err.Error(), "publish") {
		t.Errorf("publish ran: %v", err)
	}
	for _, p := range []string{key, filepath.Join(dir, "out", "repo", "dists"), filepath.Join(dir, "out", "repo", "pool")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a failed build on a fresh out/ wrote %s", p)
		}
	}
}
