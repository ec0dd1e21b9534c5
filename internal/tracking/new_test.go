package tracking

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
	"github.com/debforge/debforge/internal/usage"
)

// new reads the version from a release archive's name, a Debian orig
// tarball's included, and takes a local tarball as the spec must name
// it: relative to the specs directory inside it, file:// outside.
func TestNewReadsLocalAndOrigTarballs(t *testing.T) {
	for name, want := range map[string]string{
		"https://example.org/jq-1.7.1.tar.gz":        "1.7.1",
		"https://example.org/v/tool_v2.0.3.tgz":      "2.0.3",
		"/srv/orig/jq_1.7.1.orig.tar.gz":             "1.7.1",
		"file:///srv/orig/jq_1.7.1+dfsg.orig.tar.xz": "1.7.1+dfsg",
		"/srv/orig/jq_1.8.0~rc1.orig.tar.xz":         "1.8.0~rc1",
		"https://example.org/jq.tar.gz":              "",
	} {
		if got := versionInURL(name); got != want {
			t.Errorf("versionInURL(%q) = %q, want %q", name, got, want)
		}
	}
	specs, outside := t.TempDir(), t.TempDir()
	for _, d := range []string{filepath.Join(specs, "orig"), outside} {
		testutil.Must(t, os.MkdirAll(d, 0o755))
		testutil.Must(t, os.WriteFile(filepath.Join(d, "jq_1.7.1.orig.tar.gz"), []byte("x"), 0o644))
	}
	f := &Tracker{specsDir: specs}
	for in, want := range map[string]string{
		filepath.Join(specs, "orig", "jq_1.7.1.orig.tar.gz"):       "orig/jq_1.7.1.orig.tar.gz",
		"file://" + filepath.Join(outside, "jq_1.7.1.orig.tar.gz"): "file://" + filepath.Join(outside, "jq_1.7.1.orig.tar.gz"),
		"https://example.org/jq-1.7.1.tar.gz":                      "https://example.org/jq-1.7.1.tar.gz",
	} {
		if got, err := f.tarballSource("jq", in); err != nil || got != want {
			t.Errorf("tarballSource(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://example.org/jq-1.7.1.tar.gz", filepath.Join(outside, "missing.tar.gz")} {
		var ue *usage.Error
		if _, err := f.tarballSource("jq", bad); !errors.As(err, &ue) {
			t.Errorf("tarballSource(%q): %v, want a usage error", bad, err)
		}
	}
}
