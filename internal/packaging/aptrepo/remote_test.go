package aptrepo

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

func publishedKeys(t *testing.T, cfg Config) []byte {
	t.Helper()
	pub, err := cfg.Signer.PublicKey(false)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// list --repo reads what the signed index lists, over HTTP and from a
// directory, and refuses anything the trusted key did not sign.
func TestReadRelease(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	testDeb(t, repo, "alpha", "1.0", "first test package")
	testDeb(t, repo, "beta", "2.0", hostile)
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	keys, err := ReadPublicKeys(publishedKeys(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(repo))
	defer srv.Close()
	ctx := context.Background()
	now := cfg.Now.Add(time.Hour)
	for _, src := range []string{repo, srv.URL + "/"} {
		rel, err := ReadRelease(ctx, NewFetcher(src), keys, "tc", now)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		var got []string
		for _, e := range rel.Entries {
			got = append(got, e.Name+" "+e.Version+" "+e.Arch)
		}
		if want := indexRows(t, repo, "tc"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: read\n%v\nindex\n%v", src, got, want)
		}
		if rel.Entries[1].Summary != hostile || rel.Date != "Sat, 28 Nov 2026 12:00:00 +0000" || rel.ValidUntil == "" || rel.SignedBy != cfg.Signer.Fingerprint() {
			t.Errorf("%s: %+v", src, rel)
		}
	}

	other, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "other.asc"), "Other", "o@example.org")
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _ := other.PublicKey(true)
	otherKeys, _ := ReadPublicKeys(otherPub)
	if _, err := ReadRelease(ctx, NewFetcher(repo), otherKeys, "tc", now); !errors.Is(err, ErrUnverified) {
		t.Errorf("another key: %v", err)
	}
	if _, err := ReadRelease(ctx, NewFetcher(repo), keys, "tc", cfg.Now.Add(8*24*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired Release: %v", err)
	}

	inRelease := filepath.Join(repo, "dists", "tc", "InRelease")
	good, _ := os.ReadFile(inRelease)
	tamper := func(name string, data []byte, wantMsg string) {
		t.Helper()
		os.Remove(inRelease) // a fresh file, not a write into the snapshot's hard links
		testutil.Must(t, os.WriteFile(inRelease, data, 0o644))
		defer func() { os.Remove(inRelease); os.WriteFile(inRelease, good, 0o644) }()
		_, err := ReadRelease(ctx, NewFetcher(srv.URL), keys, "tc", now)
		if !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("%s: got %v, want %q", name, err, wantMsg)
		}
	}
	tamper("edited signed text", bytes.Replace(good, []byte("Suite: stable"), []byte("Suite: stabld"), 1), "does not verify")
	tamper("text after the signature", append(append([]byte{}, good...), []byte("\nCodename: evil\n")...), "unsigned data follows")
	tamper("text before the signature", append([]byte("Codename: evil\n\n"), good...), "does not start with")
	tamper("unsigned Release", []byte(strings.SplitN(string(good), "\n\n", 2)[1]), "does not start with")

	// A Packages index other than the one InRelease signs is refused.
	gz, _ := filepath.Glob(filepath.Join(repo, "dists", "tc", "main", "binary-amd64", "by-hash", "SHA256", "*"))
	for _, p := range gz {
		orig, _ := os.ReadFile(p)
		os.Remove(p)
		testutil.Must(t, os.WriteFile(p, append(orig, 0), 0o644))
	}
	if _, err := ReadRelease(ctx, NewFetcher(repo), keys, "tc", now); !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("tampered Packages: %v", err)
	}
}

func TestPublishedKeyNeedsTheFingerprint(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	testDeb(t, repo, "alpha", "1.0", "first")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fpr := cfg.Signer.Fingerprint()
	spaced := strings.ToLower(fpr[:4] + " " + fpr[4:])
	if keys, err := PublishedKey(ctx, NewFetcher(repo), cfg.KeyName, spaced); err != nil || KeyFingerprint(keys[0]) != fpr {
		t.Errorf("right fingerprint: %v", err)
	}
	wrong := strings.Repeat("0", len(fpr))
	if _, err := PublishedKey(ctx, NewFetcher(repo), cfg.KeyName, wrong); !errors.Is(err, ErrUnverified) {
		t.Errorf("wrong fingerprint: %v", err)
	}
}

// --keyring takes the key hosts already have: .asc, .gpg, or the
// .sources file with the key inline.
func TestReadPublicKeysForms(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	testDeb(t, repo, "alpha", "1.0", "first")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".asc", ".gpg", ".sources"} {
		data, err := os.ReadFile(filepath.Join(repo, cfg.KeyName+ext))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := ReadPublicKeys(data)
		if err != nil || KeyFingerprint(keys[0]) != cfg.Signer.Fingerprint() {
			t.Errorf("%s: %v", ext, err)
		}
	}
	if _, err := ReadPublicKeys([]byte("Types: deb\nURIs: http://x/\n")); err == nil {
		t.Error("a .sources file without a key was accepted")
	}
}

// A repository that lists only Packages.xz (as some do) is read too, and
// still checked against the hash InRelease signs.
func TestReadReleaseXZOnly(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	stanza := "Package: solo\nVersion: 1\nArchitecture: all\nFilename: pool/main/s/solo/solo_1_all.deb\nSize: 3\nSHA256: ab\nDescription: only xz\n\n"
	xzd, err := xzBytes([]byte(stanza))
	if err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(repo, "dists", "x", "main", "binary-amd64")
	testutil.Must(t, os.MkdirAll(idx, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(idx, "Packages.xz"), xzd, 0o644))
	cfg.Codename = "x"
	release := releaseFile(cfg, cfg.releases()[0], []string{"amd64"}, []indexFile{{"main/binary-amd64/Packages.xz", xzd}})
	release = bytes.Replace(release, []byte("Acquire-By-Hash: yes\n"), nil, 1)
	in, err := cfg.Signer.ClearSign(release)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(repo, "dists", "x", "InRelease"), in, 0o644))
	keys, _ := ReadPublicKeys(publishedKeys(t, cfg))
	rel, err := ReadRelease(context.Background(), NewFetcher(repo), keys, "x", cfg.Now)
	if err != nil || len(rel.Entries) != 1 || rel.Entries[0].Summary != "only xz" {
		t.Fatalf("%+v %v", rel, err)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(idx, "Packages.xz"), append(xzd, 0), 0o644))
	if _, err := ReadRelease(context.Background(), NewFetcher(repo), keys, "x", cfg.Now); !errors.Is(err, ErrUnverified) {
		t.Errorf("tampered Packages.xz: %v", err)
	}
}

func TestParseReleaseTime(t *testing.T) {
	for _, v := range []string{"Sat, 28 Nov 2026 12:00:00 +0000", "Sat, 28 Nov 2026 12:00:00 UTC"} {
		got, err := parseReleaseTime(v)
		if err != nil || !got.Equal(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("%q: %v %v", v, got, err)
		}
	}
}

// With several trusted keys (a distribution's keyring), the one that
// signed is named, not the first of the ring.
func TestReadReleaseNamesTheSigner(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	testDeb(t, repo, "alpha", "1.0", "first")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	other, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "other.asc"), "Other", "o@example.org")
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _ := other.PublicKey(false)
	ring, err := ReadPublicKeys(append(otherPub, publishedKeys(t, cfg)...))
	if err != nil || len(ring) != 2 {
		t.Fatalf("ring of %d: %v", len(ring), err)
	}
	rel, err := ReadRelease(context.Background(), NewFetcher(repo), ring, "tc", cfg.Now)
	if err != nil || rel.SignedBy != cfg.Signer.Fingerprint() {
		t.Errorf("signed by %q (want %s): %v", rel.SignedBy, cfg.Signer.Fingerprint(), err)
	}
}
