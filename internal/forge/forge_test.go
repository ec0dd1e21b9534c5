package forge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

func set(comps ...*spec.Component) *spec.Set { return &spec.Set{Components: comps} }

func comp(name string, after ...string) *spec.Component {
	return &spec.Component{Name: name, After: after}
}

func names(cs []*spec.Component) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return strings.Join(out, " ")
}

func TestOrderAndSelect(t *testing.T) {
	s := set(comp("meta", "bb", "aa"), comp("aa"), comp("bb", "aa"), comp("cc"))
	order, err := Order(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(order); got != "aa bb meta cc" {
		t.Errorf("order = %s", got)
	}
	sel, err := Select(s, []string{"bb"}, nil)
	if err != nil || names(sel) != "aa bb" {
		t.Errorf("select bb = %s %v", names(sel), err)
	}
	sel, _ = Select(s, []string{"all"}, []string{"cc"})
	if names(sel) != "aa bb meta" {
		t.Errorf("except cc = %s", names(sel))
	}
	if _, err := Select(s, []string{"zz"}, nil); err == nil || !strings.Contains(err.Error(), "unknown component zz") {
		t.Errorf("unknown: %v", err)
	}
}

func TestCycleIsNamed(t *testing.T) {
	_, err := Order(set(comp("aa", "bb"), comp("bb", "cc"), comp("cc", "aa")))
	if err == nil || !strings.Contains(err.Error(), "aa -> bb -> cc -> aa") {
		t.Errorf("cycle error = %v", err)
	}
}

func TestLockOutRefusesSecondWriter(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockOut(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockOut(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	again, err := LockOut(dir)
	if err != nil {
		t.Errorf("lock after unlock: %v", err)
	}
	again()
}

// Issue 9 item 14: an unknown --source name is a UsageError like an
// unknown --rebuild or --except name, so every caller of New can tell a
// mistyped name from a failure (the CLI maps both to exit 2).
func TestUnknownSourceNameIsUsageError(t *testing.T) {
	dir := t.TempDir()
	specs := filepath.Join(dir, "specs")
	testutil.Must(t, os.MkdirAll(specs, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"T <t@example.org>\"\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "meta.yaml"), []byte("name: meta\nversion: \"1.0\"\nsummary: s\ndescription: d\nlicense: MIT\n"), 0o644))
	for flag, opts := range map[string]Options{"--source": {Sources: map[string]string{"zz": dir}}, "--rebuild": {Rebuild: []string{"zz"}}} {
		opts.SpecsDir, opts.OutDir, opts.CacheDir = specs, filepath.Join(dir, "out"), filepath.Join(dir, "cache")
		_, err := New(opts)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), flag+" zz: unknown component") || hint.Of(err) != "known: meta" {
			t.Errorf("%s: %v, want a UsageError naming zz", flag, err)
		}
	}
}
