package buildkey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/builders/gobuild"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// A pure Go build from a patched module (nerdctl's) compiled once per
// release: its compile was never shared. It is shared now, and the
// patches' content and the deleted files are part of the compile key, so
// a changed patch or deletion never reuses the old compile.
func TestCompileKeyCoversPatchesAndDeletions(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	testutil.Must(t, os.MkdirAll(src, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.org/hello\n\ngo 1.22\n"), 0o644))
	patch := filepath.Join(dir, "fix.patch")
	testutil.Must(t, os.WriteFile(patch, []byte("--- a/x\n+++ b/x\n"), 0o644))
	c := &spec.Component{
		Name: "hello", Version: "1.0.0", Dir: dir,
		Source: &spec.Source{GoModule: "example.org/hello@v1.0.0", Patches: []string{"fix.patch"}, Delete: []string{"cmd/gen.go"}},
		Build:  &spec.Build{Kind: "go", Binaries: []spec.GoBinary{{Main: ".", Dst: "/usr/bin/hello"}}},
	}
	fe := &source.Fetched{Kind: "go_module", ID: "h1:abc="}
	env := Env{Self: "self", Toolchain: "go1.26.8 sum"}
	key := func() string {
		t.Helper()
		req := builders.Request{Component: c, SrcDir: "/build/src", StageDir: "/build/stage", WorkDir: "/build/tmp", HostSrcDir: src, Arch: "amd64"}
		k, ok, err := Compile(plan(t, req), req, c, fe, env)
		if err != nil || !ok {
			t.Fatalf("compileKey of a patched pure Go module: key %q, shared %v, err %v", k, ok, err)
		}
		return k
	}
	first := key()
	if again := key(); again != first {
		t.Fatalf("the same inputs gave two keys: %s, %s", first, again)
	}
	testutil.Must(t, os.WriteFile(patch, []byte("--- a/x\n+++ b/x\n@@ changed\n"), 0o644))
	changed := key()
	if changed == first {
		t.Error("a changed patch kept the compile key: the old compile would be reused")
	}
	c.Source.Delete = []string{"cmd/other.go"}
	if k := key(); k == changed {
		t.Error("a changed deletion list kept the compile key")
	}

	os.Remove(patch)
	req := builders.Request{Component: c, SrcDir: "/build/src", StageDir: "/build/stage", WorkDir: "/build/tmp", HostSrcDir: src, Arch: "amd64"}
	if _, _, err := Compile(plan(t, req), req, c, fe, env); err == nil || !strings.Contains(err.Error(), "fix.patch") {
		t.Errorf("a missing patch: err %v, want one naming fix.patch", err)
	}

	on := true
	c.Build.Cgo = &on
	if _, ok, err := Compile(plan(t, req), req, c, fe, env); ok || err != nil {
		t.Errorf("a cgo build is shared across releases (ok %v, err %v): it links the release's libc", ok, err)
	}
}

// The compile key is what the compile sees: a debforge that differs only
// in its own bytes reuses the compile, while any change to the source
// tree as unpacked (a file, a mode, a link) makes a new key.
func TestCompileKeyFollowsWhatTheCompileSees(t *testing.T) {
	src := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.org/hello\n\ngo 1.22\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	c := &spec.Component{Name: "hello", Version: "1.0.0", Dir: t.TempDir(),
		Source: &spec.Source{GoModule: "example.org/hello@v1.0.0"},
		Build:  &spec.Build{Kind: "go", Binaries: []spec.GoBinary{{Main: ".", Dst: "/usr/bin/hello"}}},
	}
	fe := &source.Fetched{Kind: "go_module", ID: "h1:abc="}
	key := func(env Env) string {
		t.Helper()
		req := builders.Request{Component: c, SrcDir: "/build/src", StageDir: "/build/stage", WorkDir: "/build/tmp", HostSrcDir: src, Arch: "amd64"}
		k, ok, err := Compile(plan(t, req), req, c, fe, env)
		if err != nil || !ok {
			t.Fatalf("compileKey: %q, %v, %v", k, ok, err)
		}
		return k
	}
	first := key(Env{Self: "debforge one", Toolchain: "go1.26.8 sum"})
	if k := key(Env{Self: "debforge two", Toolchain: "go1.26.8 sum"}); k != first {
		t.Error("a debforge with other bytes but the same compile has a new compile key")
	}
	if k := key(Env{Self: "debforge one", Toolchain: "go1.27.0 sum"}); k == first {
		t.Error("another toolchain kept the compile key")
	}
	for name, change := range map[string]func(){
		"a file's content": func() {
			testutil.Must(t, os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { println() }\n"), 0o644))
		},
		"a file's mode": func() { os.Chmod(filepath.Join(src, "main.go"), 0o755) },
		"a new link":    func() { os.Symlink("main.go", filepath.Join(src, "alias.go")) },
	} {
		before := key(Env{Toolchain: "go1.26.8 sum"})
		change()
		if key(Env{Toolchain: "go1.26.8 sum"}) == before {
			t.Errorf("%s changed in the tree, the compile key did not", name)
		}
	}
}

// plan is the go builder's plan for req.
func plan(t *testing.T, req builders.Request) []execx.Cmd {
	t.Helper()
	cmds, err := gobuild.New().Plan(req)
	testutil.Must(t, err)
	return cmds
}
