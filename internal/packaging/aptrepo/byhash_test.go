package aptrepo

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging/debfile"
)

// Issue 11 item 8: every index Release lists has a by-hash copy under
// every hash Release lists (apt asks by the strongest, SHA512), and
// Current says whether the published Release and .sources match the
// settings.
func TestByHashForEveryListedHash(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	testDeb(t, repo, "alpha", "1.0", "first test package")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	dists := filepath.Join(repo, "dists", cfg.Codename)
	release, err := os.ReadFile(filepath.Join(dists, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range debfile.ParseFields(release) {
		if f.Name != "SHA256" && f.Name != "SHA512" {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(f.Value), "\n") {
			sum, _, name := splitHashLine(line)
			want, err := os.ReadFile(filepath.Join(dists, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dists, filepath.Dir(filepath.FromSlash(name)), "by-hash", f.Name, sum))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("by-hash/%s for %s: %v", f.Name, name, err)
			}
			n++
		}
	}
	if n < 6 {
		t.Errorf("Release lists %d hashed files, want Packages, .gz and .xz under SHA256 and SHA512", n)
	}
	if !Current(cfg) {
		t.Error("Current is false right after Publish")
	}
	for name, change := range map[string]func(*Config){
		"url":         func(c *Config) { c.URL = "https://apt.example.org/x" },
		"description": func(c *Config) { c.Description = "moved" },
		"valid_days":  func(c *Config) { c.ValidFor = 72 * time.Hour },
		"label":       func(c *Config) { c.Label = "other" },
	} {
		c := cfg
		change(&c)
		if Current(c) {
			t.Errorf("changing %s: Current still true", name)
		}
	}
}

func splitHashLine(line string) (sum, size, name string) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return "", "", ""
	}
	return f[0], f[1], f[2]
}
