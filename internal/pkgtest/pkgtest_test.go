package pkgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// repoWith writes a repository whose bookworm/arm64 index lists pkg at
// version.
func repoWith(t *testing.T, pkg, version string) string {
	t.Helper()
	repo := t.TempDir()
	dir := filepath.Join(repo, "dists", "bookworm", "main", "binary-arm64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stanza := "Package: " + pkg + "\nVersion: " + version + "\nArchitecture: arm64\nFilename: pool/main/h/" + pkg + "/x.deb\nSHA256: 00\nSize: 1\n\n"
	if err := os.WriteFile(filepath.Join(dir, "Packages"), []byte(stanza), 0o644); err != nil {
		t.Fatal(err)
	}
	return repo
}

func component() *spec.Component {
	return &spec.Component{Name: "hello", Version: "1.0", Revision: "1", File: "specs/hello.yaml",
		Source: &spec.Source{Dir: "src"}, Build: &spec.Build{Kind: "script"},
		Tests: []spec.Test{{Name: "runs", Run: "hello"}}}
}

var arm64 = Target{Target: buildroot.Target{Release: "bookworm", Arch: "arm64"}, Codename: "bookworm"}

// Where arm64 programs cannot run, the result is "not run" with the
// reason, and no root is made and nothing is run for it.
func TestForeignTargetWithoutEmulationIsNotRun(t *testing.T) {
	old := sandbox.BinfmtDir
	sandbox.BinfmtDir = t.TempDir()
	defer func() { sandbox.BinfmtDir = old }()
	fake := &execx.Fake{}
	tr := &Tester{Roots: &buildroot.Store{Dir: t.TempDir(), Runner: fake, Variant: "apt"}, RepoDir: repoWith(t, "hello", "1.0-1"),
		Component: "main", CacheDir: t.TempDir(), ResultsDir: t.TempDir(), Runner: fake, HostArch: "amd64"}
	res, err := tr.Run(context.Background(), component(), arm64, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != NotRun || !strings.Contains(res.Reason, "cannot run arm64 programs") {
		t.Errorf("result %+v, want not run with the reason", res)
	}
	if len(fake.Cmds) != 0 {
		t.Errorf("ran %v for a target that cannot run", fake.Cmds)
	}
	// Published, so that promote and the front page say why; but never
	// over a result of a host that could run them.
	published := filepath.Join(tr.ResultsDir, "bookworm-arm64", "hello_1.0-1.json")
	if data, err := os.ReadFile(published); err != nil || !strings.Contains(string(data), `"status": "not run"`) {
		t.Errorf("published result: %s %v", data, err)
	}
	if err := os.WriteFile(published, []byte(`{"status": "passed"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background(), component(), arm64, nil); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(published); string(data) != `{"status": "passed"}` {
		t.Errorf("a not-run result replaced a passed one: %s", data)
	}
}

// A package the index lists at another version than the spec's is not
// tested: the error names both versions and says to build it.
func TestUnpublishedVersionIsAnError(t *testing.T) {
	tr := &Tester{RepoDir: repoWith(t, "hello", "0.9-1"), Component: "main", HostArch: "arm64"}
	_, err := tr.Run(context.Background(), component(), arm64, nil)
	var npe *NotPublishedError
	if !errors.As(err, &npe) || !strings.Contains(err.Error(), "lists version 0.9-1, not 1.0-1") || !strings.Contains(npe.Hint(), "debforge build hello") {
		t.Fatalf("err = %v", err)
	}
}

// The key follows the test text, the package's bytes, what installing
// it could take from the repository and the clean root.
func TestResultKeyFollowsWhatTheTestDependsOn(t *testing.T) {
	pub := published{Name: "hello", Version: "1.0-1", SHA256: "aa", FromRepo: "bb"}
	tests := []spec.Test{{Name: "runs", Run: "hello"}}
	base := testKey("root", pub, tests)
	if testKey("root", pub, []spec.Test{{Name: "runs", Run: "hello"}}) != base {
		t.Error("the same inputs gave another key")
	}
	changed := map[string]string{
		"root":  testKey("root2", pub, tests),
		"test":  testKey("root", pub, []spec.Test{{Name: "runs", Run: "hello --version"}}),
		"needs": testKey("root", pub, []spec.Test{{Name: "runs", Run: "hello", Needs: []string{"busybox"}}}),
		"as":    testKey("root", pub, []spec.Test{{Name: "runs", Run: "hello", Root: true}}),
		"deb":   testKey("root", published{Name: "hello", Version: "1.0-1", SHA256: "ab", FromRepo: "bb"}, tests),
		"repo":  testKey("root", published{Name: "hello", Version: "1.0-1", SHA256: "aa", FromRepo: "bc"}, tests),
	}
	for what, k := range changed {
		if k == base {
			t.Errorf("a changed %s kept the key", what)
		}
	}
}

// A result's key follows the packages of the repository that installing
// the package could take (dependencies, recommends, providers of a
// virtual name, and theirs), not the others.
func TestRepoClosureFollowsWhatAptCouldInstall(t *testing.T) {
	index := func(b, d, e string) [][]aptrepo.Field {
		return aptrepo.ParseStanzas([]byte("Package: a\nVersion: 1\nArchitecture: all\nSHA256: a1\nSize: 1000\nDepends: b (>= 1) | x, libc6\nRecommends: virt\n\n" +
			"Package: b\nVersion: 1\nArchitecture: all\nSHA256: " + b + "\nSize: 200\n\n" +
			"Package: d\nVersion: 1\nArchitecture: all\nSHA256: " + d + "\nSize: 30\nProvides: virt\n\n" +
			"Package: e\nVersion: 1\nArchitecture: all\nSHA256: " + e + "\nSize: 4\n\n"))
	}
	closure := func(idx [][]aptrepo.Field, names ...string) string {
		h, _ := repoClosure(idx, names)
		return h
	}
	base := closure(index("b1", "d1", "e1"), "a")
	if closure(index("b1", "d1", "e2"), "a") != base {
		t.Error("an unrelated package changed the key")
	}
	if closure(index("b2", "d1", "e1"), "a") == base {
		t.Error("a dependency's new bytes kept the key")
	}
	if closure(index("b1", "d2", "e1"), "a") == base {
		t.Error("a recommended virtual package's provider's new bytes kept the key")
	}
	if closure(index("b1", "d1", "e2"), "a", "e") == base {
		t.Error("a package a test needs kept the key when it changed")
	}
	// What testing it installs from the repository: a, b and d, not e.
	if _, size := repoClosure(index("b1", "d1", "e1"), []string{"a"}); size != 1230 {
		t.Errorf("closure size %d, want 1230", size)
	}
}

// apt's account of a package that does not install is cut to its unmet
// relations, one line each; other failures keep all of apt's output.
func TestUnmetNamesTheRelation(t *testing.T) {
	out := "Reading package lists...\nSome packages could not be installed.\nThe following packages have unmet dependencies:\n" +
		" foo : Depends: nosuchpkg (>= 2) but it is not installable\n       Depends: bar but it is not going to be installed\n" +
		"E: Unable to correct problems, you have held broken packages.\n"
	if got, want := unmet(out), "foo : Depends: nosuchpkg (>= 2) but it is not installable; Depends: bar but it is not going to be installed"; got != want {
		t.Errorf("unmet = %q, want %q", got, want)
	}
	if got := unmet("E: Version '9' for 'foo' was not found\n"); got != "E: Version '9' for 'foo' was not found" {
		t.Errorf("unmet of another failure = %q", got)
	}
}
