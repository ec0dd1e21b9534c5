package forge

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/testutil"
)

// build --explain builds nothing and says why a package would be built
// again: not at all after a build (cached); the spec after it changed;
// a component never built has no record to compare with.
func TestExplainNamesTheChangedKeyInputs(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.asc")
	if _, err := aptrepo.CreateKey(key, "T", "t@example.org"); err != nil {
		t.Fatal(err)
	}
	f := keyTestForge(t, dir, Options{SigningKey: key}, time.Now())
	ex, err := f.Explain(t.Context(), []string{"meta"})
	if err != nil || len(ex) != 1 || ex[0].Cached || ex[0].Previous {
		t.Fatalf("before any build: %+v, %v; want new, no record", ex, err)
	}
	if _, err := f.Build(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	ex, err = f.Explain(t.Context(), []string{"meta"})
	if err != nil || len(ex) != 1 || !ex[0].Cached || ex[0].Key == "" {
		t.Fatalf("after the build: %+v, %v; want cached", ex, err)
	}
	spec := filepath.Join(dir, "specs", "meta.yaml")
	data, _ := os.ReadFile(spec)
	testutil.Must(t, os.WriteFile(spec, append(data, "homepage: https://example.org\n"...), 0o644))
	g, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	ex, err = g.Explain(t.Context(), []string{"meta"})
	if err != nil || len(ex) != 1 || ex[0].Cached || !ex[0].Previous || !slices.Equal(ex[0].Changed, []string{"spec"}) {
		t.Fatalf("after the spec changed: %+v, %v; want new, changed: spec", ex, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "repo", "pool")); err != nil {
		t.Fatal(err)
	}
	before, _ := filepath.Glob(filepath.Join(dir, "cache", "debs", "*"))
	if _, err := g.Explain(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if after, _ := filepath.Glob(filepath.Join(dir, "cache", "debs", "*")); !slices.Equal(before, after) {
		t.Errorf("explain built something: %v, then %v", before, after)
	}
}
