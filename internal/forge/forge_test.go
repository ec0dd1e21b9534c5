package forge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/testutil"
)

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
