package spec_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// aliasBomb builds a small spec whose contents × replace lists, written
// with aliases, expand to n×n replacements of a long string.
func aliasBomb(n, strLen int) string {
	var b strings.Builder
	b.WriteString("name: bomb\nversion: \"1.0\"\nsummary: s\nlicense: Apache-2.0\n")
	fmt.Fprintf(&b, "description: &s %s\n", strings.Repeat("x", strLen))
	b.WriteString("source: {dir: .}\nbuild: {kind: script, steps: [\"true\"]}\npackage:\n  contents:\n")
	b.WriteString("    - {src: f0, dst: /usr/share/bomb/f0, replace: &r [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{from: *s, to: *s}")
	}
	b.WriteString("]}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "    - {src: f%d, dst: /usr/share/bomb/f%d, replace: *r}\n", i, i)
	}
	return b.String()
}

// Issue 9 item 9: YAML aliases multiplied through contents × replace are
// refused, with the file and position, before anything expands them.
func TestAliasBombRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, strLen int
	}{
		{"bytes: long strings (the issue's 2 KB -> 137 MB case)", 40, 2000},
		{"nodes: many short entries", 300, 1},
		{"bigger spec", 600, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := aliasBomb(tc.n, tc.strLen)
			t.Logf("spec of %d bytes", len(text))
			_, err := spec.Parse("bomb.yaml", []byte(text), kinds)
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "bomb.yaml:") || !strings.Contains(msg, "YAML aliases expand this file beyond the limit") {
				t.Errorf("unclear error: %.300s", msg)
			}
		})
	}
	// A few aliases within the budget still work.
	if _, err := spec.Parse("ok.yaml", []byte(aliasBomb(3, 10)), kinds); err != nil {
		t.Errorf("small aliased spec refused: %v", err)
	}
}

// Issue 9 item 9: templates may only name fields. Loops, conditionals and
// function calls (a nested {{range}} hung validate; printf can allocate
// gigabytes) are refused at validate, with the position.
func TestHostileTemplatesRefused(t *testing.T) {
	base := "name: tt\nversion: \"1.0\"\nsummary: s\ndescription: d\nlicense: Apache-2.0\nsource: {dir: .}\nbuild:\n  kind: make\n  env:\n    X: "
	for _, tmpl := range []string{
		`"{{range 100000000}}{{range 100000000}}{{range 100000000}}x{{end}}{{end}}{{end}}"`,
		`"{{printf \"%0999999999d\" 1}}"`,
		`"{{define \"a\"}}{{template \"a\"}}{{end}}{{template \"a\"}}"`,
		`"{{if .Name}}{{.Name}}{{end}}"`,
		`"{{$x := .Name}}{{$x}}"`,
		`"{{.Name | len}}"`,
	} {
		t.Run(tmpl, func(t *testing.T) {
			_, err := spec.Parse("t.yaml", []byte(base+tmpl+"\n"), kinds)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "t.yaml:10:8: build.env.X: bad template:") || !strings.Contains(err.Error(), "not allowed") {
				t.Errorf("unclear error: %v", err)
			}
		})
	}
	ok := base + "\"v{{.Version}}-{{ .Commit }}{{/* note */}}{{- .Name -}}\"\n"
	if _, err := spec.Parse("t.yaml", []byte(ok), kinds); err != nil {
		t.Errorf("field-only template refused: %v", err)
	}
	if got, err := spec.Expand("v{{.Version}}-{{.Name}}", spec.TemplateData{Name: "n", Version: "1"}); err != nil || got != "v1-n" {
		t.Errorf("Expand = %q, %v", got, err)
	}
	if _, err := spec.Expand("{{range 1000000000}}x{{end}}", spec.TemplateData{}); err == nil {
		t.Error("Expand ran a range")
	}
}

// Issue 9 item 9: a spec file that is a FIFO or a link to /dev/zero is
// refused rather than read forever; so is one over the size limit.
func TestSpecFileNotRegularOrHuge(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	testutil.Must(t, os.WriteFile(big, []byte("name: big\ndescription: \""+strings.Repeat("x", spec.MaxSpecFileBytes)+"\"\n"), 0o644))
	for _, p := range []string{filepath.Join(dir, "zero.yaml"), big} {
		if _, err := spec.LoadFile(p, kinds); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", p, err)
		}
	}
}
