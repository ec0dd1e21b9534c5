//go:build integration

package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// Issue 9 item 2 through the real binary: a dir source (a git checkout
// copied the same way) keeps COPYING -> <host secret> and docs -> <host
// dir>. license_file and contents src must refuse to follow them, and no
// package of either component may appear. The "host" files are fakes made
// here, never the real /etc/shadow.
func TestHostileDirSourceRefused(t *testing.T) {
	specs := t.TempDir()
	src := filepath.Join(specs, "src", "evil")
	testutil.Must(t, os.MkdirAll(src, 0o755))
	hostileLinks(t, src)
	e := hostileLinkBuild(t, specs, "  dir: src/evil\n")
	checkNoHostileDeb(t, e)
}

// Issues 9 items 1 and 2 from a git source: a local repository whose
// commit holds COPYING -> <host secret> and docs -> <host dir> (git
// stores the links as links; the clone and CopyTree keep them). Both
// components are refused and out/ holds no package and no index.
func TestHostileGitSourceRefused(t *testing.T) {
	testutil.RequireTool(t, "git")
	repo := t.TempDir()
	hostileLinks(t, repo)
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "hostile")
	git("tag", "v1.0.0")
	if mode := git("ls-tree", "HEAD", "COPYING", "docs"); strings.Count(mode, "120000 blob") != 2 {
		t.Fatalf("the repository does not hold the links as links:\n%s", mode)
	}
	specs := t.TempDir()
	e := hostileLinkBuild(t, specs, "  git: file://"+repo+"\n  tag: v1.0.0\n  commit: "+git("rev-parse", "HEAD")+"\n")
	checkNoHostileDeb(t, e)
	filepath.WalkDir(e.out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("out/ is not empty after the refused build: %s", p)
		}
		return nil
	})
}

// hostileLinks writes evil.sh, COPYING -> <fake host>/shadow and docs ->
// <fake host> into dir.
func hostileLinks(t *testing.T, dir string) {
	t.Helper()
	etc := t.TempDir()
	const secret = "root:$6$debforge-e2e-fake-shadow-hash:19000::::::\n"
	testutil.Must(t, os.WriteFile(filepath.Join(etc, "shadow"), []byte(secret), 0o600))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "evil.sh"), []byte("#!/bin/sh\necho evil\n"), 0o755))
	testutil.Must(t, os.Symlink(filepath.Join(etc, "shadow"), filepath.Join(dir, "COPYING")))
	testutil.Must(t, os.Symlink(etc, filepath.Join(dir, "docs")))
}

// hostileLinkBuild writes evil-license (license_file: COPYING) and
// evil-docs (contents src docs/shadow) with the given source: lines, runs
// build all and checks that it fails with both refusals.
func hostileLinkBuild(t *testing.T, specs, source string) env {
	t.Helper()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	common := "version: 1.0.0\nsummary: hostile fixture\ndescription: |\n  Links out of its tree.\ncopyright: 2026 Nobody\n" +
		"source:\n" + source + "build:\n  kind: script\n  steps:\n    - install -D -m 0755 \"$SRC/evil.sh\" \"$DESTDIR/usr/bin/evil\"\n"
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "evil-license.yaml"), []byte("name: evil-license\nlicense: MIT\nlicense_file: COPYING\n"+common+
		"package:\n  architecture: all\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "evil-docs.yaml"), []byte("name: evil-docs\nlicense: Apache-2.0\n"+common+
		"package:\n  architecture: all\n  contents:\n    - {src: docs/shadow, dst: /usr/share/doc/evil-docs/shadow}\n"), 0o644))
	e := newEnv(t, specs)
	r := e.run(t, "build", "all")
	if r.code == 0 {
		t.Fatalf("build of hostile sources exited 0\n%s", r.stderr)
	}
	for _, want := range []string{"license_file: COPYING leads outside the source tree", "package.contents[0]: src: docs/shadow leads outside the source tree"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	return e
}

func checkNoHostileDeb(t *testing.T, e env) {
	t.Helper()
	for _, dir := range []string{e.out, e.cache} {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), "evil-") && strings.HasSuffix(d.Name(), ".deb") {
				t.Errorf("a package of a hostile source was written: %s", p)
			}
			return nil
		})
	}
}

// tarEntry is one member of a hostile tarball.
type tarEntry struct {
	name, body, link string
	typ              byte
}

// writeTarball writes entries as a .tar.gz and returns its sha256.
func writeTarball(t *testing.T, p string, entries []tarEntry) string {
	t.Helper()
	f, err := os.Create(p)
	testutil.Must(t, err)
	h := sha256.New()
	z := gzip.NewWriter(f)
	tw := tar.NewWriter(z)
	for _, e := range entries {
		hd := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o755, Linkname: e.link, Size: int64(len(e.body))}
		testutil.Must(t, tw.WriteHeader(hd))
		_, err := tw.Write([]byte(e.body))
		testutil.Must(t, err)
	}
	testutil.Must(t, tw.Close())
	testutil.Must(t, z.Close())
	testutil.Must(t, f.Close())
	data, err := os.ReadFile(p)
	testutil.Must(t, err)
	h.Write(data)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// Issue 9 item 1 through the real binary, from a tarball served over
// HTTP: the 12-deep symlink chain (d12/s -> the tree root, then
// d12/s/up -> /) followed by a file written through it, a hard link to a
// host secret, and vendor -> up/<host dir> with delete: [vendor/data].
// Every build must fail in extraction and the "host" directory (a temp
// dir standing for it) must be untouched.
func TestHostileTarballThroughBuild(t *testing.T) {
	host := t.TempDir()
	testutil.Must(t, os.MkdirAll(filepath.Join(host, "data"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(host, "data", "keep"), []byte("keep\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(host, "secret"), []byte("host secret\n"), 0o600))
	chain := []tarEntry{}
	deep := "evil-1.0"
	for i := 1; i <= 12; i++ {
		deep += fmt.Sprintf("/d%02d", i)
		chain = append(chain, tarEntry{name: deep + "/", typ: tar.TypeDir})
	}
	chain = append(chain,
		tarEntry{name: deep + "/s", typ: tar.TypeSymlink, link: strings.TrimSuffix(strings.Repeat("../", 12), "/")},
		tarEntry{name: deep + "/s/up", typ: tar.TypeSymlink, link: strings.TrimSuffix(strings.Repeat("../", 13), "/")})
	viaUp := "evil-1.0/up/" + strings.TrimPrefix(host, "/")
	tails := map[string][]tarEntry{
		"evil-write":  {{name: viaUp + "/written", body: "pwned", typ: tar.TypeReg}},
		"evil-leak":   {{name: "evil-1.0/leak", link: viaUp + "/secret", typ: tar.TypeLink}},
		"evil-delete": {{name: "evil-1.0/vendor", link: "up/" + strings.TrimPrefix(host, "/"), typ: tar.TypeSymlink}},
	}
	served, specs := t.TempDir(), t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(served)))
	defer srv.Close()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	for name, tail := range tails {
		sum := writeTarball(t, filepath.Join(served, name+".tar.gz"), append(append([]tarEntry{}, chain...), tail...))
		extra := ""
		if name == "evil-delete" {
			extra = "  delete: [vendor/data]\n"
		}
		spec := "name: " + name + "\nversion: 1.0.0\nsummary: hostile fixture\ndescription: |\n  A symlink chain.\nlicense: Apache-2.0\ncopyright: 2026 Nobody\n" +
			"source:\n  tarball: " + srv.URL + "/" + name + ".tar.gz\n  sha256: " + sum + "\n" + extra +
			"build:\n  kind: script\n  steps:\n    - mkdir -p \"$DESTDIR/usr/share/" + name + "\"\npackage:\n  architecture: all\n"
		testutil.Must(t, os.WriteFile(filepath.Join(specs, name+".yaml"), []byte(spec), 0o644))
	}
	e := newEnv(t, specs)
	r := e.run(t, "build", "all")
	if r.code == 0 {
		t.Fatalf("build of hostile tarballs exited 0\n%s", r.stderr)
	}
	if n := strings.Count(r.stderr, "no entry may be written through one"); n < len(tails) {
		t.Errorf("%d of %d builds refused the chain:\n%s", n, len(tails), r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(host, "data", "keep")); err != nil || string(b) != "keep\n" {
		t.Errorf("host directory damaged: %q %v", b, err)
	}
	if entries, _ := os.ReadDir(host); len(entries) != 2 {
		t.Errorf("host directory has %d entries, want 2 (data, secret)", len(entries))
	}
	for _, dir := range []string{e.out, e.cache} {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), "evil-") && strings.HasSuffix(d.Name(), ".deb") {
				t.Errorf("a package of a hostile tarball was written: %s", p)
			}
			if err == nil && d.Name() == "leak" {
				t.Errorf("the host secret was linked into %s", p)
			}
			return nil
		})
	}
}

// Issue 10 item 2: fetched archives are extracted unprivileged. The
// extractor runs in the sandbox as the build uid (setpriv to the
// _debforge-build user, then bwrap with only the source tree writable,
// its paths /tmp/…): the build's log shows that command and the
// extractor saying which uid it ran as, and an ordinary release tarball
// still packages.
func TestArchivesUnpackInSandbox(t *testing.T) {
	served, specs := t.TempDir(), t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(served)))
	defer srv.Close()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	sum := writeTarball(t, filepath.Join(served, "plain.tar.gz"), []tarEntry{
		{name: "plain-1.0/", typ: tar.TypeDir},
		{name: "plain-1.0/plain.sh", body: "#!/bin/sh\necho plain\n", typ: tar.TypeReg},
	})
	spec := "name: plain\nversion: 1.0.0\nsummary: plain tarball fixture\ndescription: |\n  An ordinary release tarball.\nlicense: Apache-2.0\ncopyright: 2026 Nobody\n" +
		"source:\n  tarball: " + srv.URL + "/plain.tar.gz\n  sha256: " + sum + "\n" +
		"build:\n  kind: script\n  steps:\n    - install -D -m 0755 plain.sh \"$DESTDIR/usr/bin/plain\"\n" +
		"package:\n  architecture: all\n  lintian_overrides:\n    - {tag: no-manual-page, reason: A test fixture.}\n"
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "plain.yaml"), []byte(spec), 0o644))
	e := newEnv(t, specs)
	r := e.run(t, "build", "plain")
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	logData, err := os.ReadFile(filepath.Join(e.cache, "logs", "plain.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(logData)
	bu, err := user.Lookup("_debforge-build")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+ /tmp/debforge unpack-source --kind tar --strip 1 --max-bytes 8589934592 /tmp/archive /tmp/src\nunpack-source: /tmp/archive unpacked as uid " + bu.Uid + "\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("the build log does not show the sandboxed extraction (%q):\n%s", want, testutil.LastLines(log, 30))
		}
	}
	x := t.TempDir()
	sh(t, "dpkg-deb", "-x", strings.TrimSpace(r.stdout), x)
	if out := sh(t, filepath.Join(x, "usr/bin/plain")); strings.TrimSpace(out) != "plain" {
		t.Errorf("packaged plain.sh printed %q", out)
	}
}
