package aptrepo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/testutil"
)

func TestSelectKeepsNewest(t *testing.T) {
	var pkgs []*Package
	for _, v := range []string{"1.0-1", "1.2-1", "1.10-1", "1.9-1"} {
		pkgs = append(pkgs, &Package{Name: "a", Version: v, Arch: "amd64"})
	}
	pkgs = append(pkgs, &Package{Name: "b", Version: "1", Arch: "all"})
	kept, dropped := Select(pkgs, 2)
	var got []string
	for _, p := range kept {
		got = append(got, p.Name+"="+p.Version)
	}
	if strings.Join(got, " ") != "a=1.9-1 a=1.10-1 b=1" {
		t.Errorf("kept %v", got)
	}
	if len(dropped) != 2 {
		t.Errorf("dropped %d", len(dropped))
	}
}

func TestStanza(t *testing.T) {
	p := &Package{Filename: "pool/main/h/hello/hello_1_all.deb", Size: 42, SHA256: "ab",
		Fields: debfile.ParseFields([]byte("Package: hello\nVersion: 1\nArchitecture: all\nDescription: hi\n more\n"))}
	want := "Package: hello\nVersion: 1\nArchitecture: all\nFilename: pool/main/h/hello/hello_1_all.deb\nSize: 42\nSHA256: ab\nDescription: hi\n more\n"
	if got := Stanza(p); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPoolPath(t *testing.T) {
	if got := PoolPath("main", "libfoo", "x.deb"); got != "pool/main/libf/libfoo/x.deb" {
		t.Error(got)
	}
	if got := PoolPath("main", "runc", "x.deb"); got != "pool/main/r/runc/x.deb" {
		t.Error(got)
	}
}

// The signatures verify with gpgv against the published key; key files
// are created 0600 and a world-readable key is refused.
func TestSigningVerifiesWithGpgv(t *testing.T) {
	testutil.RequireTool(t, "gpgv")
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "k", "key.asc")
	s, created, err := LoadOrCreateKey(keyPath, "Test", "t@example.org")
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if st, _ := os.Stat(keyPath); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	s2, created, err := LoadOrCreateKey(keyPath, "Test", "t@example.org")
	if err != nil || created || s2.Fingerprint() != s.Fingerprint() {
		t.Fatalf("reload: %v %v", created, err)
	}
	release := []byte("Origin: x\nSuite: stable\n")
	inRelease, err := s.ClearSign(release)
	if err != nil {
		t.Fatal(err)
	}
	detached, err := s.DetachSign(release)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := s.PublicKey(false)
	keyring := filepath.Join(dir, "pub.gpg")
	testutil.Must(t, os.WriteFile(keyring, pub, 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "InRelease"), inRelease, 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "Release"), release, 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "Release.gpg"), detached, 0o644))
	if out, err := exec.Command("gpgv", "--keyring", keyring, filepath.Join(dir, "InRelease")).CombinedOutput(); err != nil {
		t.Errorf("gpgv InRelease: %v\n%s", err, out)
	}
	if out, err := exec.Command("gpgv", "--keyring", keyring, filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release")).CombinedOutput(); err != nil {
		t.Errorf("gpgv Release.gpg: %v\n%s", err, out)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "Release"), []byte("Origin: y\nSuite: stable\n"), 0o644))
	if err := exec.Command("gpgv", "--keyring", keyring, filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release")).Run(); err == nil {
		t.Error("gpgv accepted an edited Release")
	}
	testutil.Must(t, os.Chmod(keyPath, 0o644))
	if _, _, err := LoadOrCreateKey(keyPath, "Test", "t@example.org"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key accepted: %v", err)
	}
}

func TestReleaseListsUncompressedAndValidUntil(t *testing.T) {
	cfg := Config{Origin: "o", Label: "l", Suite: "stable", Codename: "c", Component: "main", Description: "d",
		ValidFor: 48 * time.Hour, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	rel := string(releaseFile(cfg, cfg.releases()[0], []string{"amd64"}, []indexFile{{"main/binary-amd64/Packages", []byte("x")}, {"main/binary-amd64/Packages.gz", []byte("y")}}))
	for _, want := range []string{"Date: Fri, 02 Jan 2026 03:04:05 +0000\n", "Valid-Until: Sun, 04 Jan 2026 03:04:05 +0000\n", "Acquire-By-Hash: yes\n",
		" 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 1 main/binary-amd64/Packages\n", "SHA512:\n"} {
		if !strings.Contains(rel, want) {
			t.Errorf("Release lacks %q:\n%s", want, rel)
		}
	}
}
