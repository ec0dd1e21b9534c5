package aptrepo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 9 items 4 and 5, at the writer: a label with a newline (a fake
// SHA256 block in Release), a url with a newline ("Trusted: yes" in the
// .sources file), and names that climb out of the repository are refused
// before anything is written.
func TestPublishRefusesInjectionAndEscapes(t *testing.T) {
	signer, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key.asc"), "Test", "t@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"label", func(c *Config) { c.Label = "x\nSHA256:\n 00 1 main/binary-amd64/Packages" }, "label"},
		{"url", func(c *Config) { c.URL = "http://x\nTrusted: yes" }, "url"},
		{"description", func(c *Config) { c.Description = "a\rb" }, "description"},
		{"arch", func(c *Config) { c.Archs = []string{"x/../../../tmp/y"} }, "invalid architecture"},
		{"codename", func(c *Config) { c.Codename = "../../victim" }, "invalid codename"},
		{"component", func(c *Config) { c.Component = ".." }, "invalid component"},
		{"key_name", func(c *Config) { c.KeyName = "../../victim" }, "invalid key_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, "a", "b", "repo")
			cfg := Config{Dir: dir, Origin: "o", Label: "l", Suite: "stable", Codename: "c", Component: "main", Description: "d",
				Archs: []string{"amd64"}, KeyName: "k-archive-keyring", Signer: signer, Now: time.Now()}
			tc.edit(&cfg)
			err := Publish(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %q, got %v", tc.want, err)
			}
			var written []string
			filepath.Walk(top, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					written = append(written, p)
				}
				return nil
			})
			if len(written) > 0 {
				t.Errorf("wrote %v", written)
			}
		})
	}
}
