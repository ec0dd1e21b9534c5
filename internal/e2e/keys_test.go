//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
)

// Issue 9 item 8, on a real host: during a key rotation
// (--previous-signing-key) apt in a bookworm root accepts the repository
// whether the host trusts only the old key or only the new one, and
// refuses it when it trusts neither; the keyring package it installs
// holds both keys.
func TestRotationAcceptedByApt(t *testing.T) {
	e, _ := fixtures(t)
	work := newEnv(t, e.specs) // keygen made a new key at work.key
	work.cache = e.cache
	sh(t, "cp", "-a", e.out, work.out)
	if r := work.run(t, "--previous-signing-key", e.key, "publish"); r.code != 0 {
		t.Fatalf("rotation publish: exit %d\n%s", r.code, r.stderr)
	}
	repo := filepath.Join(work.out, "repo")
	root := rootfs(t, "bookworm")
	addRepo(t, root, repo)
	sources := filepath.Join(root, "etc/apt/sources.list.d", "fixtures-archive-keyring.sources")
	trust := func(keyPath string) {
		t.Helper()
		s, err := aptrepo.LoadKey(keyPath)
		if err != nil {
			t.Fatal(err)
		}
		asc, err := s.PublicKey(true)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("Types: deb\nURIs: file:///srv/repo\nSuites: fixtures\nComponents: main\nSigned-By:\n")
		for _, l := range strings.Split(strings.TrimRight(string(asc), "\n"), "\n") {
			if l == "" {
				l = "."
			}
			b.WriteString(" " + l + "\n")
		}
		if err := os.WriteFile(sources, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stranger := filepath.Join(t.TempDir(), "stranger.asc")
	if _, err := aptrepo.CreateKey(stranger, "Stranger", "s@example.org"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{{"old key only", e.key, true}, {"new key only", work.key, true}, {"an unrelated key", stranger, false}} {
		trust(tc.key)
		out, err := aptUpdate(root)
		clean := err == nil && !strings.Contains(out, "W:") && !strings.Contains(out, "E:")
		if clean != tc.ok {
			t.Errorf("%s: apt-get update accepted=%v, want %v: %v\n%s", tc.name, clean, tc.ok, err, out)
		}
	}
	trust(work.key)
	if _, err := aptUpdate(root); err != nil {
		t.Fatal(err)
	}
	if out, err := inRoot(root, "apt-get", "install", "-y", "fixtures-archive-keyring"); err != nil {
		t.Fatalf("install the keyring package: %v\n%s", err, out)
	}
	keyring, err := os.ReadFile(filepath.Join(root, "usr/share/keyrings/fixtures-archive-keyring.gpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{e.key, work.key} {
		s, _ := aptrepo.LoadKey(k)
		pub, _ := s.PublicKey(false)
		if !strings.Contains(string(keyring), string(pub)) {
			t.Errorf("the installed keyring lacks key %s", s.Fingerprint())
		}
	}
}
