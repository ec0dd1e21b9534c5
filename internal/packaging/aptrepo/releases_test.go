package aptrepo

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
)

// archDeb pools a package of name at "version-revision" for arch.
func archDeb(t *testing.T, repo, name, version, revision, arch string) string {
	t.Helper()
	work := t.TempDir()
	c := &spec.Component{Name: name, Version: version, Revision: revision, Summary: "test " + name, Description: "Test package.",
		License: "Apache-2.0", Copyright: "2026 test", Maintainer: "Test <t@example.org>", Changes: "Test build of " + name + ".", File: "t.yaml",
		Package: &spec.Package{Name: name, Section: "misc", Priority: "optional", Architecture: arch, Compression: "gzip"}}
	deb, err := packaging.Build(packaging.Input{Component: c, WorkDir: filepath.Join(work, "w"), Arch: arch, MTime: time.Unix(1700000000, 0)}, work)
	if err != nil {
		t.Fatal(err)
	}
	dst, _, err := AddToPool(repo, "main", deb)
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// archIndex returns "name version arch" of each stanza of one
// binary-<arch>/Packages of codename.
func archIndex(t *testing.T, repo, codename, arch string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "dists", codename, "main", "binary-"+arch, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, st := range ParseStanzas(data) {
		rows = append(rows, debfile.FieldValue(st, "Package")+" "+debfile.FieldValue(st, "Version")+" "+debfile.FieldValue(st, "Architecture"))
	}
	sort.Strings(rows)
	return strings.Join(rows, ", ")
}

func severalReleases(cfg Config) Config {
	cfg.Releases = []ReleaseTarget{
		{Codename: "bookworm", Suite: "bookworm", Suffix: "+deb12", Archs: []string{"amd64", "arm64"}},
		{Codename: "trixie", Suite: "trixie", Suffix: "+deb13", Archs: []string{"amd64", "arm64"}},
	}
	return cfg
}

// One pool, one signed dists/<codename> per release: each release indexes
// the packages built for it (by version suffix) plus the unsuffixed ones,
// Architecture: all in each of its binary-<arch> indexes; one .sources per
// release; pruning per release never deletes what another release keeps.
func TestPublishSeveralReleases(t *testing.T) {
	repo := t.TempDir()
	cfg := severalReleases(testConfig(t, repo))
	cfg.Keep = 1
	archDeb(t, repo, "foo", "1.0", "1+deb12", "amd64")
	archDeb(t, repo, "foo", "1.0", "1+deb12", "arm64")
	archDeb(t, repo, "foo", "1.0", "1+deb13", "amd64")
	archDeb(t, repo, "bar", "2.0", "1", "all")
	archDeb(t, repo, "baz", "3.0", "1+deb13", "all")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"bookworm/amd64": "bar 2.0-1 all, foo 1.0-1+deb12 amd64",
		"bookworm/arm64": "bar 2.0-1 all, foo 1.0-1+deb12 arm64",
		"trixie/amd64":   "bar 2.0-1 all, baz 3.0-1+deb13 all, foo 1.0-1+deb13 amd64",
		"trixie/arm64":   "bar 2.0-1 all, baz 3.0-1+deb13 all",
	}
	for target, rows := range want {
		rel, arch, _ := strings.Cut(target, "/")
		if got := archIndex(t, repo, rel, arch); got != rows {
			t.Errorf("%s index: %s\nwant %s", target, got, rows)
		}
	}
	keys, err := ReadPublicKeys(publishedKeys(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"bookworm", "trixie"} {
		r, err := ReadRelease(context.Background(), NewFetcher(repo), keys, rel, cfg.Now.Add(time.Hour))
		if err != nil {
			t.Errorf("%s: signed Release does not verify: %v", rel, err)
		} else if strings.Join(r.Archs, " ") != "amd64 arm64" || r.Suite != rel {
			t.Errorf("%s: Release says archs %v suite %q", rel, r.Archs, r.Suite)
		}
		if l, err := os.Readlink(filepath.Join(repo, "dists", rel)); err != nil || !strings.HasPrefix(l, filepath.Join("..", ".snapshots", rel+"-")) {
			t.Errorf("dists/%s is not a link to its own snapshot: %q %v", rel, l, err)
		}
		src, err := os.ReadFile(filepath.Join(repo, "test-archive-keyring-"+rel+".sources"))
		if err != nil || !strings.Contains(string(src), "\nSuites: "+rel+"\n") || !strings.Contains(string(src), "cp test-archive-keyring-"+rel+".sources ") {
			t.Errorf("%s .sources: %v\n%s", rel, err, src)
		}
	}
	if _, err := os.Stat(filepath.Join(repo, "test-archive-keyring.sources")); err == nil {
		t.Error("a several-release repository still publishes the single-release .sources (whose suite no longer exists)")
	}
	if err := ConsistentReleases(repo, cfg.Releases, cfg.KeyName); err != nil {
		t.Errorf("ConsistentReleases: %v", err)
	}
	doc := parsePage(t, repo)
	page := text(doc)
	for _, s := range []string{"test-archive-keyring-bookworm.sources", "test-archive-keyring-trixie.sources", "bookworm arm64", "trixie amd64"} {
		if !strings.Contains(page, s) {
			t.Errorf("front page lacks %q", s)
		}
	}

	// A new bookworm build replaces the old one (keep: 1); trixie's
	// build and the package both releases share stay.
	archDeb(t, repo, "foo", "1.1", "1+deb12", "amd64")
	cfg.Now = cfg.Now.Add(time.Minute)
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	if got := archIndex(t, repo, "bookworm", "amd64"); got != "bar 2.0-1 all, foo 1.1-1+deb12 amd64" {
		t.Errorf("bookworm after a new build: %s", got)
	}
	if got := archIndex(t, repo, "trixie", "amd64"); got != want["trixie/amd64"] {
		t.Errorf("trixie changed by a bookworm build: %s", got)
	}
	for f, kept := range map[string]bool{"f/foo/foo_1.0-1+deb12_amd64.deb": false, "f/foo/foo_1.0-1+deb13_amd64.deb": true, "b/bar/bar_2.0-1_all.deb": true} {
		if _, err := os.Stat(filepath.Join(repo, "pool", "main", f)); (err == nil) != kept {
			t.Errorf("%s: in pool %v, want %v", f, err == nil, kept)
		}
	}
	if err := ConsistentReleases(repo, cfg.Releases, cfg.KeyName); err != nil {
		t.Errorf("ConsistentReleases after pruning: %v", err)
	}
	if !Current(cfg) {
		t.Error("Current is false right after publishing")
	}
	// A bookworm build in the pool that no index lists yet is noticed.
	archDeb(t, repo, "foo", "1.2", "1+deb12", "amd64")
	if err := ConsistentReleases(repo, cfg.Releases, cfg.KeyName); err == nil || !strings.Contains(err.Error(), "foo_1.2-1+deb12_amd64.deb is in the pool but not in the index") {
		t.Errorf("an unindexed bookworm build went unnoticed: %v", err)
	}
}

// trixie dropped from the targets: its builds stay in the pool, indexed
// nowhere (Stray), which is consistent, until removed by file.
func TestPublishDroppedRelease(t *testing.T) {
	repo := t.TempDir()
	cfg := severalReleases(testConfig(t, repo))
	archDeb(t, repo, "foo", "1.0", "1+deb12", "amd64")
	trixie := archDeb(t, repo, "foo", "1.0", "1+deb13", "amd64")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Releases = cfg.Releases[:1]
	cfg.Now = cfg.Now.Add(time.Minute)
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	if err := ConsistentReleases(repo, cfg.Releases, cfg.KeyName); err != nil {
		t.Errorf("a stray trixie build makes the bookworm-only repository inconsistent: %v", err)
	}
	rel, _ := filepath.Rel(repo, trixie)
	if !cfg.Stray(&Package{Version: "1.0-1+deb13"}) || cfg.Stray(&Package{Version: "1.0-1+deb12"}) || cfg.Stray(&Package{Version: "1.0-1"}) {
		t.Error("Stray misjudges versions")
	}
	if _, err := os.Stat(trixie); err != nil {
		t.Fatalf("the stray trixie build was deleted without being asked: %v", err)
	}
	cfg.RemoveFiles = []string{filepath.ToSlash(rel)}
	cfg.Now = cfg.Now.Add(time.Minute)
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(trixie); err == nil {
		t.Error("RemoveFiles left the stray build in the pool")
	}
	if got := archIndex(t, repo, "bookworm", "amd64"); got != "foo 1.0-1+deb12 amd64" {
		t.Errorf("bookworm index after removing the trixie build: %s", got)
	}
}

// A stable suite and its staging suite beside it: staging lists every
// build, the stable suite only what Admit lets in, and keep never prunes
// a file the stable suite still lists. Their snapshots do not take each
// other's for their own: publishing both twice keeps both readable.
func TestPublishStableBesideStaging(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	cfg.Keep = 1
	stable := ReleaseTarget{Codename: "bookworm", Suite: "bookworm", Suffix: "+deb12", Archs: []string{"amd64"},
		Admit: func(p *Package) bool { return p.Version == "1.0-1+deb12" }}
	staging := ReleaseTarget{Codename: "bookworm-staging", Suite: "bookworm-staging", Suffix: "+deb12", Archs: []string{"amd64"}, Tested: "bookworm"}
	cfg.Releases = []ReleaseTarget{stable, staging}
	archDeb(t, repo, "foo", "1.0", "1+deb12", "amd64")
	archDeb(t, repo, "foo", "2.0", "1+deb12", "amd64")
	for range 2 {
		if err := Publish(cfg); err != nil {
			t.Fatal(err)
		}
	}
	if got := archIndex(t, repo, "bookworm", "amd64"); got != "foo 1.0-1+deb12 amd64" {
		t.Errorf("stable lists %q", got)
	}
	if got := archIndex(t, repo, "bookworm-staging", "amd64"); got != "foo 2.0-1+deb12 amd64" {
		t.Errorf("staging lists %q", got)
	}
	if err := ConsistentReleases(repo, cfg.Releases, cfg.KeyName); err != nil {
		t.Errorf("not consistent: %v", err)
	}
}

// Test results and logs of a version no release lists any more go with
// it; those of listed versions stay.
func TestPublishDropsTestResultsOfUnlistedVersions(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	cfg.Keep = 1
	archDeb(t, repo, "foo", "1.0", "1", "amd64")
	archDeb(t, repo, "foo", "2.0", "1", "amd64")
	dir := filepath.Join(repo, TestsDir, "bookworm-amd64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"foo_1.0-1.json", "foo_1.0-1.log", "foo_2.0-1.json", "foo_2.0-1.log"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	for i := range left {
		left[i] = filepath.Base(left[i])
	}
	if strings.Join(left, " ") != "foo_2.0-1.json foo_2.0-1.log" {
		t.Errorf("left %v, want only 2.0-1's result and log", left)
	}
}
