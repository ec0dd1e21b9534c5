package source

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// Issue 9 item 13: the Go dependency stamp was keyed by patch file names,
// so editing a patch kept the stale stamp, dependencies the new patch
// needs were never downloaded, and the build failed under GOPROXY=off.
func TestDepsStampKeyedOnPatchContents(t *testing.T) {
	cache, specDir := t.TempDir(), t.TempDir()
	dl := filepath.Join(cache, "go", "mod", "cache", "download", "example.org", "m", "@v")
	testutil.Must(t, os.MkdirAll(dl, 0o755))
	zipPath := filepath.Join(dl, "v1.0.0.zip")
	f, err := os.Create(zipPath)
	testutil.Must(t, err)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("example.org/m@v1.0.0/go.mod")
	w.Write([]byte("module example.org/m\n"))
	testutil.Must(t, zw.Close())
	testutil.Must(t, f.Close())
	sum, err := HashZip(zipPath)
	testutil.Must(t, err)
	patch := filepath.Join(specDir, "deps.patch")
	testutil.Must(t, os.WriteFile(patch, []byte("first version\n"), 0o644))

	fake := &execx.Fake{}
	fetcher := &Fetcher{CacheDir: cache, Runner: fake}
	c := &spec.Component{Name: "m", Dir: specDir, Source: &spec.Source{GoModule: "example.org/m@v1.0.0", Sum: sum, Patches: []string{"deps.patch"}}}
	downloads := func() int {
		n := 0
		for _, cmd := range fake.Cmds {
			if slices.Equal(cmd.Args, []string{"go", "mod", "download"}) {
				n++
			}
		}
		return n
	}
	fetch := func() {
		t.Helper()
		if _, err := fetcher.Fetch(context.Background(), c, "", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	fetch()
	fetch()
	if n := downloads(); n != 1 {
		t.Fatalf("after two fetches of the same inputs: %d dependency downloads, want 1 (the stamp should hold)", n)
	}
	testutil.Must(t, os.WriteFile(patch, []byte("second version: needs a new dependency\n"), 0o644))
	fetch()
	if n := downloads(); n != 2 {
		t.Errorf("after editing the patch: %d dependency downloads, want 2 (the stamp must follow patch contents)", n)
	}
}
