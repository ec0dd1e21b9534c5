package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

var kinds = []string{"autotools", "go", "make", "script"}

func TestValidSpecs(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no valid fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := spec.LoadFile(f, kinds); err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
		})
	}
}

// Each invalid spec's complete error text is pinned in a golden file, so a
// message that loses its file:line:col, field path or hint fails the test.
func TestInvalidSpecs(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no invalid fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := spec.LoadFile(f, kinds)
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, f+":") {
					t.Errorf("line lacks %s:LINE:COL prefix: %q", f, line)
				}
			}
			testutil.Golden(t, strings.TrimSuffix(f, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

// With SkippingInvalid the specs that validate load beside those that do
// not, whose errors are kept per file; an invalid repository file still
// fails the load.
func TestLoadDirSkippingInvalidKeepsTheValidSpecs(t *testing.T) {
	dir := t.TempDir()
	write := specWriter(t, dir)
	write("debforge.yaml", "maintainer: \"A B <a@example.org>\"\n")
	write("a.yaml", "name: aa\nversion: x\nsummary: s\ndescription: d\nlicense: MIT\n")
	write("b.yaml", "name: bb\nversion: 1\nsummary: s\ndescription: d\nlicense: MIT\nafter: [aa]\n")
	write("c.yaml", "name: cc\nversion: 1\nsummary: s\ndescription: d\nlicense: MIT\n")
	skipped := map[string]error{}
	set, err := spec.LoadDir(dir, kinds, spec.SkippingInvalid(skipped))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Components) != 1 || set.Components[0].Name != "cc" {
		t.Errorf("loaded %d components, want cc alone", len(set.Components))
	}
	for file, want := range map[string]string{"a.yaml": "version: malformed version", "b.yaml": `after[0]: unknown component "aa"`} {
		if err := skipped[filepath.Join(dir, file)]; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", file, err, want)
		}
	}
	write("debforge.yaml", "maintainer: nobody\n")
	if _, err := spec.LoadDir(dir, kinds, spec.SkippingInvalid(map[string]error{})); err == nil {
		t.Error("an invalid debforge.yaml loaded")
	}
}

// specWriter writes a file of a specs directory, ending the test if it
// cannot.
func specWriter(t *testing.T, dir string) func(name, text string) {
	return func(name, text string) {
		t.Helper()
		testutil.Must(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
}

func TestDefaultsDoNotMutate(t *testing.T) {
	c, err := spec.LoadFile("testdata/valid/meta.yaml", kinds)
	if err != nil {
		t.Fatal(err)
	}
	repo := &spec.Repo{Maintainer: "A B <a@example.org>"}
	d := spec.Defaults(c, repo)
	if c.Revision != "" || c.Package.Architecture != "" {
		t.Errorf("Defaults modified its input: %+v", c.Package)
	}
	if d.Revision != "1" || d.Package.Architecture != "all" || d.Package.Section != "admin" || d.Maintainer != repo.Maintainer {
		t.Errorf("defaults not applied: revision %q arch %q section %q maintainer %q", d.Revision, d.Package.Architecture, d.Package.Section, d.Maintainer)
	}
	if d.DebVersion() != "1.0-1" {
		t.Errorf("DebVersion = %q", d.DebVersion())
	}
}

// Issue 11 item 9: an unknown after: entry is reported at the entry, not
// at 1:1.
func TestLoadDirReportsEveryFile(t *testing.T) {
	dir := t.TempDir()
	write := specWriter(t, dir)
	write("debforge.yaml", "maintainer: \"A B <a@example.org>\"\n")
	write("a.yaml", "name: aa\nversion: x\nsummary: s\ndescription: d\nlicense: MIT\n")
	write("b.yaml", "name: bb\nversion: 1\nsummary: s\ndescription: d\nlicense: MIT\nafter: [zzz]\n")
	write("c.yaml", "name: cc\nversion: 1\nsummary: s\ndescription: d\nlicense: MIT\nafter:\n  - aa\n  - yyy\n")
	_, err := spec.LoadDir(dir, kinds)
	if err == nil {
		t.Fatal("expected errors")
	}
	msg := err.Error()
	for _, want := range []string{"a.yaml:2:10: version: malformed version \"x\"", "b.yaml:6:9: after[0]: unknown component \"zzz\"", "c.yaml:8:5: after[1]: unknown component \"yyy\""} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestRepoDefaultsAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "debforge.yaml")
	testutil.Must(t, os.WriteFile(p, []byte("maintainer: nobody\nkeep: -1\nsuite: \"a b\"\n"), 0o644))
	_, err := spec.LoadRepo(p)
	if err == nil {
		t.Fatal("expected error")
	}
	for _, want := range []string{":1:13: maintainer: malformed maintainer", ":2:7: keep: must not be negative", ":3:8: suite: invalid suite"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	testutil.Must(t, os.WriteFile(p, []byte("maintainer: \"A B <a@example.org>\"\n"), 0o644))
	r, err := spec.LoadRepo(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Suite != "stable" || r.Codename != "debforge" || r.Component != "main" || r.Keep != 3 {
		t.Errorf("defaults: %+v", r)
	}
}

// Every Go binary is linked with -bindnow, which the go linker has since
// Go 1.22: an older pinned toolchain is refused where it is pinned, not
// when its first link fails.
func TestGoToolchainOlderThanBindnowIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "debforge.yaml")
	write := func(v string) {
		body := "maintainer: \"A B <a@example.org>\"\ngo_toolchain:\n  version: " + v + "\n  sums: {amd64: \"h1:x\"}\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1.21.13")
	_, err := spec.LoadRepo(p)
	if err == nil || !strings.Contains(err.Error(), ":3:") || !strings.Contains(err.Error(), "go_toolchain.version: want Go 1.22 or later") {
		t.Fatalf("Go 1.21.13: %v", err)
	}
	for _, v := range []string{"1.22", "1.26.8", "1.100.1"} {
		write(v)
		if _, err := spec.LoadRepo(p); err != nil {
			t.Errorf("Go %s refused: %v", v, err)
		}
	}
}

func TestExpand(t *testing.T) {
	got, err := spec.Expand("-X main.v={{.Version}} -X main.c={{.Commit}}", spec.TemplateData{Version: "1.2", CommitID: "abc"})
	if err != nil || got != "-X main.v=1.2 -X main.c=abc" {
		t.Errorf("Expand = %q, %v", got, err)
	}
	if _, err := spec.Expand("{{.Nope}}", spec.TemplateData{}); err == nil {
		t.Error("unknown field accepted")
	}
}

// provides, depends, conflicts, breaks and replaces may name the
// component's version: Defaults expands them, so packaging and every
// reader of the loaded spec see the real version.
func TestRelationsExpandVersionTemplates(t *testing.T) {
	c, err := spec.LoadFile("testdata/valid/relation-templates.yaml", kinds)
	if err != nil {
		t.Fatal(err)
	}
	d := spec.Defaults(c, &spec.Repo{Maintainer: "A B <a@example.org>"})
	got := strings.Join([]string{d.Package.Provides[0], d.Package.Depends[0], d.Package.Conflicts[0], d.Package.Breaks[0], d.Package.Replaces[0]}, "; ")
	want := "tool-api (= 1.2.3); tool-data (= 1.2.3-2); tool-old (<< 1.2.3); tool-old (<< 1.2.3); tool-old (<< 1.2.3-2)"
	if got != want {
		t.Errorf("expanded relations:\n got %s\nwant %s", got, want)
	}
	if c.Package.Provides[0] != "tool-api (= {{.Version}})" {
		t.Errorf("Defaults modified its input: %q", c.Package.Provides[0])
	}
}

// An unknown commit used to expand to "" in silence (issue 11 item 5).
func TestExpandUnknownCommit(t *testing.T) {
	_, err := spec.Expand("-X main.gitCommit={{.Commit}}", spec.TemplateData{Name: "runc", Version: "1.5.3"})
	var nc *spec.NoCommitError
	if !errors.As(err, &nc) {
		t.Fatalf("Expand with no commit = %v, want a NoCommitError", err)
	}
	if !strings.Contains(err.Error(), "runc") || !strings.Contains(nc.Hint(), "source.commit") {
		t.Errorf("error %q / hint %q should name the component and source.commit", err, nc.Hint())
	}
	// Text that does not ask for the commit does not need one.
	if got, err := spec.Expand("v{{.Version}}", spec.TemplateData{Version: "1.5.3"}); err != nil || got != "v1.5.3" {
		t.Errorf("Expand = %q, %v", got, err)
	}
}
