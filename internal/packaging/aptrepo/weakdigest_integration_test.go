//go:build integration

package aptrepo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// list --repo requires what apt requires of an InRelease signature: one
// made with a SHA-1 digest is refused, as apt's verifiers refuse it; the
// same text signed by the same key with SHA-512 is read. GnuPG makes the
// SHA-1 signature: the OpenPGP library debforge uses will not write one.
func TestReadReleaseRefusesAWeakDigest(t *testing.T) {
	testutil.RequireTool(t, "gpg")
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	keyFile := filepath.Join(t.TempDir(), "key.asc")
	s, _, err := LoadOrCreateKey(keyFile, "Test", "t@example.org")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Signer = s
	testDeb(t, repo, "alpha", "1.0", "first")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	ring, err := ReadPublicKeys(publishedKeys(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	gpg := func(args ...string) {
		t.Helper()
		cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	gpg("--import", keyFile)
	dists := filepath.Join(repo, "dists", "tc")
	inRelease := filepath.Join(dists, "InRelease")
	for _, tc := range []struct{ digest, want string }{{"SHA1", "SHA-1 digest"}, {"SHA512", ""}} {
		if err := os.Remove(inRelease); err != nil {
			t.Fatal(err)
		}
		gpg("--digest-algo", tc.digest, "--clearsign", "-o", inRelease, filepath.Join(dists, "Release"))
		_, err := ReadRelease(context.Background(), NewFetcher(repo), ring, "tc", cfg.Now)
		if tc.want == "" && err != nil {
			t.Errorf("signed with %s: %v", tc.digest, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("signed with %s: %v, want an error naming the %s", tc.digest, err, tc.want)
		}
	}
}
