package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 9 items 4 and 16, at the writer: a Component that did not come
// through validation still cannot inject control fields or ship a setuid
// file without a reason, and no .deb is left behind.
func TestControlWriterRefusesInjection(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(in *Input)
		want string
	}{
		{"homepage newline", func(in *Input) { in.Component.Homepage = "https://example.org\nEssential: yes" }, "Homepage"},
		{"maintainer newline", func(in *Input) { in.Component.Maintainer = "A\nEssential: yes <a@example.org>" }, "Maintainer"},
		{"depends carriage return", func(in *Input) { in.Component.Package.Depends = []string{"libc6\rPre-Depends: evil"} }, "relation"},
		{"description escape", func(in *Input) { in.Component.Description = "x\x1b]0;owned\x07" }, "Description"},
		{"setuid mode", func(in *Input) { in.Component.Package.Contents[0].Mode = "6777" }, "setuid"},
		{"world-writable mode", func(in *Input) { in.Component.Package.Contents[1].Mode = "0666" }, "world-writable"},
		// Not from the spec: shlibs output and the caller's architecture.
		{"shlibs depends newline", func(in *Input) { in.ExtraDepends = []string{"libc6 (>= 2.34)\nEssential: yes"} }, "relation"},
		// x/../../escaped: without the check the .deb lands beside the
		// test's output dir (still inside the test's temp dir).
		{"architecture with a path", func(in *Input) { in.Arch = "x/../../escaped" }, "architecture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture(t)
			tc.edit(&in)
			out := t.TempDir()
			_, err := Build(in, out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %s, got %v", tc.want, err)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("left %d files in the output dir", len(entries))
			}
			if debs, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*.deb")); len(debs) != 0 {
				t.Errorf("wrote beside the output dir: %v", debs)
			}
		})
	}
	in := fixture(t)
	in.Component.Package.Contents[0].Mode = "4755"
	in.Component.Package.Contents[0].AllowUnsafeMode = "the helper must run as root"
	if _, err := Build(in, t.TempDir()); err != nil {
		t.Errorf("setuid with a reason refused: %v", err)
	}
}
