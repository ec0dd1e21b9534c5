package spec_test

import (
	"testing"

	"github.com/debforge/debforge/internal/spec"
)

// Rewrite changes only the edited values, in their own quoting, and keeps
// comments and layout byte for byte.
func TestRewriteKeepsEverythingElse(t *testing.T) {
	in := "name: runc # the runtime\nversion: 1.5.3\nrevision: \"3\"\n\nsource:\n  # pinned\n  go_module: github.com/opencontainers/runc@v1.5.3\n  sum: \"h1:old=\"   # verified\n  tag: 'v1.5.3'\nprovides: [\"runc (= {{.Version}})\"]\n"
	got, err := spec.Rewrite([]byte(in), []spec.Edit{
		{Path: []string{"version"}, Value: "1.6.0"},
		{Path: []string{"revision"}, Value: "1"},
		{Path: []string{"source", "go_module"}, Value: "github.com/opencontainers/runc@v1.6.0"},
		{Path: []string{"source", "sum"}, Value: "h1:new="},
		{Path: []string{"source", "tag"}, Value: "v1.6.0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "name: runc # the runtime\nversion: 1.6.0\nrevision: \"1\"\n\nsource:\n  # pinned\n  go_module: github.com/opencontainers/runc@v1.6.0\n  sum: \"h1:new=\"   # verified\n  tag: 'v1.6.0'\nprovides: [\"runc (= {{.Version}})\"]\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := spec.Rewrite([]byte(in), []spec.Edit{{Path: []string{"source", "commit"}, Value: "x"}}); err == nil {
		t.Error("a missing key was rewritten")
	}
}
