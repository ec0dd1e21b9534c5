package source

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// A dir source of the repository the specs live in (specs/debforge-tool.yaml)
// must not copy or hash its build output: out/ changes on every build.
func TestTreeExclude(t *testing.T) {
	src := t.TempDir()
	for _, p := range []string{"go.mod", "cmd/x/main.go", "out/repo/pool/x.deb", "bin/debforge", "outside/keep"} {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exclude := []string{"out", "bin"}
	before, err := HashTree(src, exclude...)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "out/repo/pool/y.deb"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if after, _ := HashTree(src, exclude...); after != before {
		t.Error("a new file under an excluded out/ changed the tree's hash")
	}
	if all, _ := HashTree(src); all == before {
		t.Error("without exclude, out/ is not hashed")
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := CopyTree(src, dst, exclude...); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"go.mod": true, "cmd/x/main.go": true, "outside/keep": true, "out": false, "bin": false} {
		if _, err := os.Lstat(filepath.Join(dst, p)); (err == nil) != want {
			t.Errorf("%s copied: %v, want %v", p, err == nil, want)
		}
	}
}

// A dir source that contains debforge's own cache (a checkout with
// --cache-dir inside it, as make bench's targets section had) neither
// copies nor hashes it: the copy is made inside the cache, so copying the
// cache copied the copy into itself until the disk was full.
func TestDirSourceNeverCopiesDebforgesOwnDirectories(t *testing.T) {
	src := t.TempDir()
	cache, out := filepath.Join(src, "cache"), filepath.Join(src, "out")
	for _, p := range []string{filepath.Join(cache, "work"), filepath.Join(out, "repo")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "main.c"), []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "repo", "x.deb"), []byte("deb"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Runner: execx.OS{}, CacheDir: cache, Private: []string{cache, out}}
	c := &spec.Component{Name: "self", Dir: src, Source: &spec.Source{Dir: "."}}
	fe, err := f.Fetch(context.Background(), c, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(cache, "work", "self-1", "src")
	if err := f.Prepare(context.Background(), c, fe, dst, io.Discard); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "main.c" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the copy holds %v, want only main.c", names)
	}
	// The identity ignores the cache and output: a build that writes
	// them does not change the source it was built from.
	if err := os.WriteFile(filepath.Join(cache, "work", "new"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := f.Fetch(context.Background(), c, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != fe.ID {
		t.Errorf("writing into the cache changed the source's identity: %s, then %s", fe.ID, again.ID)
	}
}
