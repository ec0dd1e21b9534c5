//go:build integration

package e2e

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// Issue 11 item 2: what dh_installman and dh_compress do. A package whose
// build installs an uncompressed man page, a .so man page, an info page
// with the info dir index and a long upstream changelog passes lintian
// with no error or warning.
func TestDocsCompressedLikeDebhelper(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb", "lintian")
	e := newEnv(t, "testdata/docspecs")
	r := e.run(t, "build", "hello-pages")
	if r.code != 0 {
		t.Fatalf("build failed (exit %d):\n%s", r.code, r.stderr)
	}
	deb := strings.TrimSpace(r.stdout)
	contents := sh(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{
		"./usr/share/man/man1/hello-pages.1.gz\n",
		"./usr/share/man/man1/hello-pages-alias.1.gz -> hello-pages.1.gz\n",
		"./usr/share/info/hello-pages.info.gz\n",
		"./usr/share/doc/hello-pages/changelog.gz\n",
		"./usr/share/doc/hello-pages/README\n",
		"./usr/share/doc/hello-pages/copyright\n",
	} {
		if !strings.Contains(contents, want) {
			t.Errorf("the package lacks %q:\n%s", strings.TrimSpace(want), contents)
		}
	}
	if strings.Contains(contents, "./usr/share/info/dir") {
		t.Errorf("the package ships the info dir index:\n%s", contents)
	}
	out, err := lintian(t, deb).CombinedOutput()
	if err != nil {
		t.Errorf("lintian exit: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") ||
			strings.Contains(line, "uncompressed-manual-page") || strings.Contains(line, "info-document-not-compressed") {
			t.Errorf("lintian: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("lintian output:\n%s", out)
	}
}

// Issue 11 item 7: changelog.Debian.gz carries every published revision,
// newest first; the initial-upload override is there only while the
// changelog has one entry (lintian: no unused-override from revision 2),
// and a package with no other override then ships no overrides file.
func TestChangelogHistory(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb", "lintian")
	specs := t.TempDir()
	sh(t, "cp", "-a", "testdata/docspecs/.", specs)
	e := newEnv(t, specs)
	spec := filepath.Join(specs, "hello-pages.yaml")
	r1 := e.run(t, "build", "hello-pages")
	if r1.code != 0 {
		t.Fatalf("revision 1 (exit %d):\n%s", r1.code, r1.stderr)
	}
	data := mustRead(t, spec)
	data = append(data, "revision: 2\nchanges: Second revision.\n"...)
	if err := os.WriteFile(spec, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r2 := e.run(t, "build", "hello-pages")
	if r2.code != 0 {
		t.Fatalf("revision 2 (exit %d):\n%s", r2.code, r2.stderr)
	}
	deb := strings.TrimSpace(r2.stdout)
	x := t.TempDir()
	sh(t, "dpkg-deb", "-x", deb, x)
	text := sh(t, "zcat", filepath.Join(x, "usr/share/doc/hello-pages/changelog.Debian.gz"))
	heads := regexp.MustCompile(`(?m)^hello-pages \(([^)]+)\)`).FindAllStringSubmatch(text, -1)
	if len(heads) != 2 || heads[0][1] != "5.0.0-2" || heads[1][1] != "5.0.0-1" {
		t.Errorf("changelog of revision 2 has entries %v, want 5.0.0-2 then 5.0.0-1:\n%s", heads, text)
	}
	if strings.Count(text, "\n -- ") != 2 || !strings.Contains(text, "Second revision.") {
		t.Errorf("changelog of revision 2:\n%s", text)
	}
	// The dpkg tools parse it as two entries.
	if out := sh(t, "dpkg-parsechangelog", "-l", writeTemp(t, text), "--count", "2", "-S", "Version"); strings.Fields(out)[0] != "5.0.0-2" {
		t.Errorf("dpkg-parsechangelog: %s", out)
	}
	// hello-pages has no overrides of its own: once the initial-upload
	// one is gone, it ships no overrides file at all, as dh_lintian.
	if overrides, err := os.ReadFile(filepath.Join(x, "usr/share/lintian/overrides/hello-pages")); !os.IsNotExist(err) {
		t.Errorf("revision 2 ships an overrides file (%v):\n%s", err, overrides)
	}
	out, err := lintian(t, deb).CombinedOutput()
	if err != nil || strings.Contains(string(out), "unused-override") || strings.Contains(string(out), "initial-upload-closes-no-bugs") {
		t.Errorf("lintian (%v):\n%s", err, out)
	}
	// The history is part of the cache key but stable: nothing rebuilds,
	// and a forced rebuild makes the same bytes as the published package.
	if r := e.run(t, "build", "hello-pages"); r.code != 0 || !strings.Contains(r.stderr, "(cached,") {
		t.Errorf("no-op build (exit %d) was not a cache hit:\n%s", r.code, r.stderr)
	}
	if r := e.run(t, "build", "hello-pages", "--rebuild", "hello-pages"); r.code != 0 {
		t.Errorf("rebuild of a published revision (exit %d):\n%s", r.code, r.stderr)
	}
}

func writeTemp(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "changelog")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue 11 item 8: Release lists SHA256 and SHA512 with Acquire-By-Hash,
// so by-hash/ must hold both: apt fetches by the strongest hash and logs
// "Ign:" after a 404 otherwise. apt-get update in bookworm prints no
// Ign:/Err: line for our repository, over file: and over debforge serve.
func TestAptUpdateNoIgnore(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb")
	e := newEnv(t, "testdata/docspecs")
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build (exit %d):\n%s", r.code, r.stderr)
	}
	root := rootfs(t, "bookworm")
	addRepo(t, root, filepath.Join(e.out, "repo"))
	check := func(how string) {
		out, err := aptUpdate(root)
		if err != nil {
			t.Fatalf("%s: apt-get update: %v\n%s", how, err, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "Ign:") || strings.HasPrefix(line, "Err:") || strings.HasPrefix(line, "W:") || strings.HasPrefix(line, "E:") {
				t.Errorf("%s: apt-get update: %s", how, line)
			}
		}
		if !strings.Contains(out, "docfixtures InRelease") {
			t.Errorf("%s: apt-get update did not read our repository:\n%s", how, out)
		}
	}
	check("file:")
	addr := freeAddr(t)
	srv := exec.Command(debforgeBin, "--out", e.out, "serve", "--addr", addr)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	waitHTTP(t, "http://"+addr+"/")
	list := filepath.Join(root, "etc/apt/sources.list.d/docfixtures-archive-keyring.sources")
	data := strings.Replace(string(mustRead(t, list)), "URIs: file:///srv/repo", "URIs: http://"+addr, 1)
	if err := os.WriteFile(list, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	check("http:")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

// Issue 11 item 8: settings that change no package's bytes rebuild
// nothing, and build publishes them (the .sources file, Release).
func TestChangingURLRebuildsNothing(t *testing.T) {
	specs := t.TempDir()
	sh(t, "cp", "-a", "testdata/docspecs/.", specs)
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build (exit %d):\n%s", r.code, r.stderr)
	}
	repo := filepath.Join(e.out, "repo")
	pool := treeHash(t, filepath.Join(repo, "pool"))
	settings := filepath.Join(specs, "debforge.yaml")
	data := append(mustRead(t, settings), "url: https://apt.example.org/debforge\ndescription: Moved to a web server\nvalid_days: 30\n"...)
	if err := os.WriteFile(settings, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("build after changing url (exit %d):\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "(cached,") || strings.Contains(r.stderr, " build\n") {
		t.Errorf("changing url, description and valid_days rebuilt a package:\n%s", r.stderr)
	}
	if treeHash(t, filepath.Join(repo, "pool")) != pool {
		t.Error("the pool changed")
	}
	sources := string(mustRead(t, filepath.Join(repo, "docfixtures-archive-keyring.sources")))
	if !strings.Contains(sources, "URIs: https://apt.example.org/debforge\n") {
		t.Errorf(".sources not republished:\n%s", sources)
	}
	release := string(mustRead(t, filepath.Join(repo, "dists/docfixtures/Release")))
	if !strings.Contains(release, "Description: Moved to a web server\n") || !strings.Contains(release, "Valid-Until: ") {
		t.Errorf("Release not republished:\n%s", release)
	}
	// And nothing to do the next time: the snapshot stays.
	snap, _ := os.Readlink(filepath.Join(repo, "dists/docfixtures"))
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("no-op build (exit %d):\n%s", r.code, r.stderr)
	}
	if again, _ := os.Readlink(filepath.Join(repo, "dists/docfixtures")); again != snap {
		t.Errorf("a no-op build published a new snapshot (%s -> %s)", snap, again)
	}
}
