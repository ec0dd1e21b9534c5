package forge

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/debian"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// keyTestForge is a Forge over one meta-package spec with its own out,
// cache and key paths; now is the publish time.
func keyTestForge(t *testing.T, dir string, opts Options, now time.Time) *Forge {
	t.Helper()
	specs := filepath.Join(dir, "specs")
	testutil.Must(t, os.MkdirAll(specs, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"T <t@example.org>\"\nkey_name: t-archive-keyring\ncodename: kt\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "meta.yaml"), []byte("name: meta\nversion: \"1.0\"\nsummary: s\ndescription: d\nlicense: MIT\n"), 0o644))
	opts.SpecsDir, opts.OutDir, opts.CacheDir, opts.Arch, opts.Runner = specs, filepath.Join(dir, "out"), filepath.Join(dir, "cache"), "amd64", &execx.Fake{}
	opts.Now = func() time.Time { return now }
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Issue 9 item 8: a missing --signing-key path silently generated a new
// key and re-keyed the repository.
func TestMissingSigningKeyIsNeverGenerated(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "keys", "named.asc")
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	// A path the user named: refused, for publish and (before building) build.
	f := keyTestForge(t, dir, Options{SigningKey: key}, now)
	var ue *UsageError
	if err := f.Publish(t.Context()); !errors.As(err, &ue) || !strings.Contains(err.Error(), "never makes a new key") {
		t.Errorf("publish with a missing named key: %v", err)
	}
	if _, err := f.Build(t.Context(), nil); !errors.As(err, &ue) {
		t.Errorf("build with a missing named key: %v", err)
	}
	for _, p := range []string{key, filepath.Join(dir, "out", "repo", "pool"), filepath.Join(dir, "out", "repo", "dists")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	// The default path may get a first key, but never replace a key the
	// repository already publishes.
	def := filepath.Join(dir, "default.asc")
	f = keyTestForge(t, dir, Options{SigningKey: def, CreateKey: true}, now)
	if err := f.Publish(t.Context()); err != nil {
		t.Fatalf("first publish at the default path: %v", err)
	}
	os.Remove(def)
	if err := f.Publish(t.Context()); !errors.As(err, &ue) || !strings.Contains(err.Error(), "would re-key every host") {
		t.Errorf("publish after the key was lost: %v", err)
	}
	if _, err := os.Stat(def); err == nil {
		t.Error("a lost key was silently replaced")
	}
}

// Issue 9 item 8: keyring versions were "1+<fingerprint>", which can sort
// below the previous key's; rotation published one key only. Versions now
// only grow (checked with dpkg itself), and during a rotation both keys
// are in the keyring package, the .asc and the .sources file, and both
// sign InRelease and Release.gpg (checked with gpgv against each key).
func TestKeyringVersionsGrowAndRotationSignsWithBoth(t *testing.T) {
	testutil.RequireTool(t, "gpgv", "dpkg")
	dir := t.TempDir()
	keyA, keyB := filepath.Join(dir, "a.asc"), filepath.Join(dir, "b.asc")
	a, err := aptrepo.CreateKey(keyA, "A", "a@example.org")
	if err != nil {
		t.Fatal(err)
	}
	b, err := aptrepo.CreateKey(keyB, "B", "b@example.org")
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	repoDir := filepath.Join(dir, "out", "repo")

	// The old scheme's package, as the previous debforge made it, with a
	// fingerprint chosen to sort high: "1+ffffffff".
	poolKeyring(t, dir, repoDir, "1+ffffffff")

	var versions []string
	publish := func(key string, previous []string, now time.Time) string {
		t.Helper()
		f := keyTestForge(t, dir, Options{SigningKey: key, PreviousKeys: previous}, now)
		if err := f.Publish(t.Context()); err != nil {
			t.Fatalf("publish: %v", err)
		}
		v := newestKeyring(t, repoDir)
		versions = append(versions, v)
		return v
	}
	v1 := publish(keyA, nil, day1)
	if v1 != "2026.1128.1-1" {
		t.Errorf("first keyring version %s", v1)
	}
	if v := publish(keyA, nil, day1.Add(time.Hour)); v != v1 {
		t.Errorf("same key, new version %s (was %s)", v, v1)
	}
	v2 := publish(keyB, []string{keyA}, day1.Add(2*time.Hour))
	checkKeys(t, repoDir, v2, a, b)
	for _, s := range []*aptrepo.Signer{a, b} {
		gpgvGood(t, repoDir, s)
	}
	v3 := publish(keyB, nil, day1.Add(26*time.Hour))
	checkKeys(t, repoDir, v3, b)
	gpgvGood(t, repoDir, b)

	order := append([]string{"1+ffffffff-1"}, versions...)
	for i := 1; i < len(order); i++ {
		op := "gt"
		if order[i] == order[i-1] {
			op = "eq"
		}
		if err := exec.Command("dpkg", "--compare-versions", order[i], op, order[i-1]).Run(); err != nil {
			t.Errorf("dpkg: %s is not %s %s", order[i], op, order[i-1])
		}
	}
	if v2 == v1 || v3 == v2 {
		t.Errorf("key changes kept the version: %v", versions)
	}
	t.Logf("keyring versions: %v", order)
}

func newestKeyring(t *testing.T, repoDir string) string {
	t.Helper()
	debs, _ := filepath.Glob(filepath.Join(repoDir, "pool", "main", "t", "t-archive-keyring", "*.deb"))
	newest := ""
	for _, p := range debs {
		d, err := debfile.ReadFile(p, debfile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if v := d.Get("Version"); newest == "" || debian.CompareVersions(v, newest) > 0 {
			newest = v
		}
	}
	return newest
}

// checkKeys asserts that the keyring package of version, the .asc and the
// .sources file hold exactly the keys of want.
func checkKeys(t *testing.T, repoDir, version string, want ...*aptrepo.Signer) {
	t.Helper()
	var fps []string
	for _, s := range want {
		fps = append(fps, s.Fingerprint())
	}
	has := func(what string, list openpgp.EntityList) {
		t.Helper()
		var got []string
		for _, e := range list {
			got = append(got, strings.ToUpper(e.PrimaryKey.KeyIdString()))
		}
		if len(list) != len(want) {
			t.Errorf("%s holds %d keys (%v), want %d", what, len(list), got, len(want))
		}
		for _, fp := range fps {
			if !strings.Contains(strings.Join(got, " "), fp[len(fp)-16:]) {
				t.Errorf("%s lacks key %s (has %v)", what, fp, got)
			}
		}
	}
	deb := filepath.Join(repoDir, "pool", "main", "t", "t-archive-keyring", "t-archive-keyring_"+version+"_all.deb")
	d, err := debfile.ReadFile(deb, debfile.Options{Data: true, BodyOf: "./usr/share/keyrings/t-archive-keyring.gpg"})
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, e := range d.Data {
		if e.Name == "./usr/share/keyrings/t-archive-keyring.gpg" {
			body = e.Body
		}
	}
	list, err := openpgp.ReadKeyRing(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("keyring package: %v", err)
	}
	has("keyring package "+version, list)
	asc, _ := os.ReadFile(filepath.Join(repoDir, "t-archive-keyring.asc"))
	if list, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(asc)); err != nil {
		t.Fatal(err)
	}
	has(".asc", list)
	sources, _ := os.ReadFile(filepath.Join(repoDir, "t-archive-keyring.sources"))
	m := regexp.MustCompile(`(?s)Signed-By:\n(.*)`).FindSubmatch(sources)
	if m == nil {
		t.Fatalf(".sources has no Signed-By:\n%s", sources)
	}
	var armored strings.Builder
	for _, l := range strings.Split(strings.TrimRight(string(m[1]), "\n"), "\n") {
		l = strings.TrimPrefix(l, " ")
		if l == "." {
			l = ""
		}
		armored.WriteString(l + "\n")
	}
	if list, err = openpgp.ReadArmoredKeyRing(strings.NewReader(armored.String())); err != nil {
		t.Fatalf(".sources Signed-By: %v", err)
	}
	has(".sources", list)
}

// gpgvGood checks that InRelease and Release.gpg carry a good signature
// by s, verifying with a keyring that holds only s, as a host that trusts
// only that key would.
func gpgvGood(t *testing.T, repoDir string, s *aptrepo.Signer) {
	t.Helper()
	pub, err := s.PublicKey(false)
	if err != nil {
		t.Fatal(err)
	}
	keyring := filepath.Join(t.TempDir(), "only.gpg")
	testutil.Must(t, os.WriteFile(keyring, pub, 0o644))
	dist := filepath.Join(repoDir, "dists", "kt")
	for _, args := range [][]string{{filepath.Join(dist, "InRelease")}, {filepath.Join(dist, "Release.gpg"), filepath.Join(dist, "Release")}} {
		cmd := exec.Command("gpgv", append([]string{"--status-fd", "1", "--keyring", keyring}, args...)...)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "[GNUPG:] VALIDSIG "+s.Fingerprint()) {
			t.Errorf("gpgv %s: no valid signature by %s:\n%s", filepath.Base(args[0]), s.Fingerprint(), out)
		}
	}
}

// Item 8: a keyring version from a clock that ran ahead (or a hand-made
// package) still gets a newer version on the next key change.
func TestKeyringVersionAboveAFutureOne(t *testing.T) {
	testutil.RequireTool(t, "dpkg")
	dir := t.TempDir()
	key := filepath.Join(dir, "a.asc")
	if _, err := aptrepo.CreateKey(key, "A", "a@example.org"); err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(dir, "out", "repo")
	for _, v := range []string{"20991231.5", "3"} {
		poolKeyring(t, dir, repoDir, v)
	}
	f := keyTestForge(t, dir, Options{SigningKey: key}, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	if err := f.Publish(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := newestKeyring(t, repoDir)
	if err := exec.Command("dpkg", "--compare-versions", got, "gt", "20991231.5-1").Run(); err != nil {
		t.Errorf("new keyring version %s does not sort above 20991231.5-1", got)
	}
}

// A first keyring package versioned YYYYMMDD.N drew lintian's
// new-package-uses-date-based-version-number warning; new repositories
// now start at YYYY.MMDD.N. A pool that already holds the eight-digit form
// keeps it, since YYYY.MMDD.N would sort below what hosts have installed.
func TestKeyringVersionFormKeptForOldPools(t *testing.T) {
	testutil.RequireTool(t, "dpkg")
	dir := t.TempDir()
	key := filepath.Join(dir, "a.asc")
	if _, err := aptrepo.CreateKey(key, "A", "a@example.org"); err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(dir, "out", "repo")
	poolKeyring(t, dir, repoDir, "20261128.1")
	f := keyTestForge(t, dir, Options{SigningKey: key}, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	if err := f.Publish(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := newestKeyring(t, repoDir); got != "20261202.1-1" {
		t.Errorf("next keyring version after 20261128.1-1 is %s, want 20261202.1-1", got)
	}
}

// poolKeyring puts a t-archive-keyring package of version (revision 1)
// into the pool under repoDir, as an earlier debforge published it.
func poolKeyring(t *testing.T, dir, repoDir, version string) {
	t.Helper()
	deb, err := packaging.Build(packaging.Input{Component: &spec.Component{Name: "t-archive-keyring", Version: version, Revision: "1",
		Summary: "s", Description: "d", License: "CC0-1.0", Copyright: "none", Maintainer: "T <t@example.org>", File: "x",
		Package: &spec.Package{Name: "t-archive-keyring", Section: "misc", Priority: "optional", Architecture: "all", Compression: "xz"}},
		WorkDir: filepath.Join(dir, "w"+version), Arch: "all", MTime: packaging.DefaultEpoch}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := aptrepo.AddToPool(repoDir, "main", deb); err != nil {
		t.Fatal(err)
	}
}
