package buildkey

import (
	"os"
	"path/filepath"
	"testing"
)

// Editing a spec's tests leaves its package's key as it was; any other
// edit changes it; a spec without tests keys on its bytes.
func TestSpecKeyLeavesOutTests(t *testing.T) {
	dir := t.TempDir()
	read := func(text string) string {
		t.Helper()
		p := filepath.Join(dir, "a.yaml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		data, err := specWithoutTests(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	const head = "name: hello\nversion: 1.0\n"
	base := read(head + "tests:\n  - {name: a, run: hello}\n")
	if got := read(head + "tests:\n  - {name: a, run: hello --version}\n  - {name: b, run: 'true'}\n"); got != base {
		t.Errorf("a changed test changed the spec's key text:\n%s\nvs\n%s", got, base)
	}
	if got := read("name: hello\nversion: 1.1\ntests:\n  - {name: a, run: hello}\n"); got == base {
		t.Error("a changed version kept the spec's key text")
	}
	if got := read(head); got != head {
		t.Errorf("a spec without tests keys on %q, not its bytes", got)
	}
}
