//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// releaseDeb pools a package hello-release at version whose file
// /usr/share/hello-release/built-for says what it was built for.
func releaseDeb(t *testing.T, repo, revision, builtFor string) {
	t.Helper()
	work := t.TempDir()
	src := filepath.Join(work, "src")
	testutil.Must(t, os.MkdirAll(src, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(src, "built-for"), []byte(builtFor+"\n"), 0o644))
	c := &spec.Component{Name: "hello-release", Version: "1.0", Revision: revision, Summary: "release suffix test", Description: "Says which release it was built for.",
		License: "Apache-2.0", Copyright: "2026 test", Maintainer: "Test <t@example.org>", Changes: "Build for " + builtFor + ".", File: "t.yaml",
		Package: &spec.Package{Name: "hello-release", Section: "misc", Priority: "optional", Architecture: "amd64", Compression: "xz",
			Contents: []spec.Content{{Src: "built-for", Dst: "/usr/share/hello-release/built-for", Mode: "0644"}}}}
	deb, err := packaging.Build(packaging.Input{Component: c, SrcDir: src, WorkDir: filepath.Join(work, "w"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, work)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := aptrepo.AddToPool(repo, "main", deb); err != nil {
		t.Fatal(err)
	}
}

// One repository for bookworm and trixie (issue 13): debforge publish
// with targets in debforge.yaml writes a signed dists/<codename> per
// release and a .sources per release; a bookworm host that had the build
// published before targets existed upgrades to the bookworm build, and
// after switching to the trixie .sources, full-upgrade brings the trixie
// build: dpkg's ordering of the suffixes, exercised by apt itself.
func TestReleasesUpgradeWithApt(t *testing.T) {
	specs := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte(`maintainer: "debforge tests <tests@example.org>"
label: debforge fixtures
key_name: fixtures-archive-keyring
targets: [bookworm/amd64, bookworm/arm64, trixie/amd64]
`), 0o644))
	e := newEnv(t, specs)
	repo := filepath.Join(e.out, "repo")
	releaseDeb(t, repo, "1", "no release")
	releaseDeb(t, repo, "1+deb12", "bookworm")
	releaseDeb(t, repo, "1+deb13", "trixie")
	if r := e.run(t, "publish"); r.code != 0 {
		t.Fatalf("publish: exit %d\n%s", r.code, r.stderr)
	}
	for _, p := range []string{"dists/bookworm/InRelease", "dists/bookworm/main/binary-arm64/Packages", "dists/trixie/InRelease",
		"fixtures-archive-keyring-bookworm.sources", "fixtures-archive-keyring-trixie.sources"} {
		if _, err := os.Stat(filepath.Join(repo, p)); err != nil {
			t.Errorf("published repository lacks %s", p)
		}
	}
	if _, err := os.Stat(filepath.Join(repo, "dists/trixie/main/binary-arm64")); err == nil {
		t.Error("trixie has an arm64 index though no trixie/arm64 target is set")
	}

	root := rootfs(t, "bookworm")
	builtFor := func() string {
		data, _ := os.ReadFile(filepath.Join(root, "usr/share/hello-release/built-for"))
		return strings.TrimSpace(string(data))
	}
	useSources(t, root, repo, "fixtures-archive-keyring-bookworm.sources")
	if out, err := inRoot(root, "apt-get", "install", "-y", "hello-release=1.0-1"); err != nil {
		t.Fatalf("install the unsuffixed build: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "apt-get", "upgrade", "-y"); err != nil || builtFor() != "bookworm" {
		t.Fatalf("upgrade from the unsuffixed build: got %q (%v)\n%s", builtFor(), err, out)
	}
	useSources(t, root, repo, "fixtures-archive-keyring-trixie.sources")
	if out, err := inRoot(root, "apt-get", "full-upgrade", "-y"); err != nil || builtFor() != "trixie" {
		t.Fatalf("full-upgrade to trixie sources: got %q (%v)\n%s", builtFor(), err, out)
	}
	if out, _ := inRoot(root, "dpkg-query", "-W", "-f", "${Version}", "hello-release"); out != "1.0-1+deb13" {
		t.Errorf("installed version %q, want 1.0-1+deb13", out)
	}
}
