package source

import (
	"os"
	"path/filepath"
	"testing"
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
