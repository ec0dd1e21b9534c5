//go:build integration

package e2e

import (
	"bytes"
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

var fixturePackages = []string{"hello-autotools", "hello-go", "hello-make", "hello-meta", "hello-script"}

func debsOf(t *testing.T, r result) map[string]string {
	t.Helper()
	debs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		name := strings.SplitN(filepath.Base(line), "_", 2)[0]
		debs[name] = line
	}
	return debs
}

// Every builder kind yields a .deb that dpkg-deb reads and lintian passes
// (bookworm's lintian -EvIL +pedantic: no error or warning).
func TestFixturesBuildLintianClean(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb", "lintian", "autoreconf", "cc")
	e, r := fixtures(t)
	debs := debsOf(t, r)
	if len(debs) != len(fixturePackages) {
		t.Fatalf("stdout lists %d packages, want %d:\n%s", len(debs), len(fixturePackages), r.stdout)
	}
	// The keyring package publish makes is a first upload here, which
	// lintian judges by its version too (new-package-uses-date-based-version-number).
	keyrings, _ := filepath.Glob(filepath.Join(e.out, "repo", "pool", "main", "f", "fixtures-archive-keyring", "*.deb"))
	if len(keyrings) != 1 {
		t.Fatalf("want one fixtures-archive-keyring package in the pool, have %v", keyrings)
	}
	for _, line := range lintianErrors(t, keyrings[0]) {
		t.Errorf("lintian fixtures-archive-keyring: %s", line)
	}
	if !strings.Contains(r.stderr, "COMPONENT") || strings.Contains(r.stdout, "COMPONENT") {
		t.Error("the summary table belongs on stderr, not stdout")
	}
	for _, name := range fixturePackages {
		deb := debs[name]
		if deb == "" {
			t.Errorf("no .deb for %s", name)
			continue
		}
		sh(t, "dpkg-deb", "--info", deb)
		sh(t, "dpkg-deb", "--contents", deb)
		for _, line := range lintianErrors(t, deb) {
			t.Errorf("lintian %s: %s", name, line)
		}
	}
	contents := sh(t, "dpkg-deb", "--contents", debs["hello-script"])
	if strings.Contains(contents, " ./opt/\n") || !strings.Contains(contents, "./opt/hello/bin/") {
		t.Errorf("hello-script must ship /opt/hello/bin but not own /opt:\n%s", contents)
	}
	info := sh(t, "dpkg-deb", "--field", debs["hello-make"], "Depends")
	if !strings.Contains(info, "libc6") {
		t.Errorf("hello-make links libc dynamically but Depends is %q", info)
	}
	if arch := strings.TrimSpace(sh(t, "dpkg-deb", "--field", debs["hello-meta"], "Architecture")); arch != "all" {
		t.Errorf("meta-package architecture = %s", arch)
	}
}

// Two builds from clean caches in different directories give identical
// bytes; a second build with the same cache compiles nothing.
func TestReproducibleAndCached(t *testing.T) {
	first, r1 := fixtures(t)
	_ = first
	e := newEnv(t, "testdata/specs")
	r2 := e.run(t, "build", "all")
	if r2.code != 0 {
		t.Fatalf("second build failed:\n%s", r2.stderr)
	}
	d1, d2 := debsOf(t, r1), debsOf(t, r2)
	for _, name := range fixturePackages {
		a, _ := os.ReadFile(d1[name])
		b, _ := os.ReadFile(d2[name])
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: builds differ (%d vs %d bytes)", name, len(a), len(b))
		}
	}
	before := treeHash(t, filepath.Join(e.out, "repo", "pool"))
	r3 := e.run(t, "build", "all")
	if r3.code != 0 {
		t.Fatalf("cached build failed:\n%s", r3.stderr)
	}
	if n := strings.Count(r3.stderr, "(cached,"); n != len(fixturePackages) {
		t.Errorf("%d of %d components came from the cache:\n%s", n, len(fixturePackages), r3.stderr)
	}
	if strings.Contains(r3.stderr, " build\n") {
		t.Errorf("a cached run started a build:\n%s", r3.stderr)
	}
	if after := treeHash(t, filepath.Join(e.out, "repo", "pool")); after != before {
		t.Error("a no-op build changed the pool")
	}
}

// Bad specs exit 2 with file:line:col and leave an existing out/ as it was.
func TestBadSpecLeavesOutUntouched(t *testing.T) {
	good, _ := fixtures(t)
	specs := tempDir(t)
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "hello-go.yaml"), []byte("name: hello-go\nversion: 1.0.0\nsummary: s\ndescription: d\nlicense: MIT\nbuild:\n  kind: go\n  binaries:\n    - {main: ., dst: usr/bin/x}\n  bogus: 1\n"), 0o644))
	e := env{specs: specs, out: tempDir(t), cache: tempDir(t), key: good.key}
	sh(t, "cp", "-a", good.out+"/.", e.out)
	before := treeHash(t, e.out)
	r := e.run(t, "build", "all")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	spec := filepath.Join(specs, "hello-go.yaml")
	for _, want := range []string{spec + ":10:3: build.bogus: unknown key \"bogus\"", "debforge: hint:"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty: %q", r.stdout)
	}
	if treeHash(t, e.out) != before {
		t.Error("a rejected build changed out/")
	}
	// validate reports the same without building.
	if v := debforge(t, "--specs", specs, "validate"); v.code != 2 || !strings.Contains(v.stderr, spec+":10:3:") {
		t.Errorf("validate: exit %d\n%s", v.code, v.stderr)
	}
}

// A module whose bytes differ from the pinned hash stops with both hashes
// and changes nothing in out/. Uses the Go module proxy.
func TestChecksumMismatch(t *testing.T) {
	good, _ := fixtures(t)
	specs := tempDir(t)
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	pinned := "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "uuid.yaml"), []byte(`name: uuid
version: 1.6.0
summary: s
description: d
license: BSD-3-Clause
license_file: LICENSE
source:
  go_module: github.com/google/uuid@v1.6.0
  sum: "`+pinned+`"
build:
  kind: go
  binaries: [{main: ., dst: /usr/bin/uuid}]
`), 0o644))
	e := env{specs: specs, out: tempDir(t), cache: tempDir(t), key: good.key}
	sh(t, "cp", "-a", good.out+"/.", e.out)
	before := treeHash(t, e.out)
	r := e.run(t, "build", "uuid")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"checksum mismatch", pinned, "downloaded:     h1:"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if treeHash(t, e.out) != before {
		t.Error("a failed fetch changed out/")
	}
	// The real hash (from go.sum) verifies.
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "uuid.yaml"), bytes.Replace(mustRead(t, filepath.Join(specs, "uuid.yaml")), []byte(pinned), []byte("h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0="), 1), 0o644))
	if f := e.run(t, "fetch", "uuid"); f.code != 0 || !strings.Contains(f.stdout, "uuid\tverified") {
		t.Errorf("fetch with the right hash: exit %d\n%s%s", f.code, f.stdout, f.stderr)
	}
}

// The unreachable upstream of a git source fails that component only, with
// the --source way out; the rest builds and the exit code is 1.
func TestUnreachableSourceKeepsGoing(t *testing.T) {
	specs := tempDir(t)
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "offline.yaml"), []byte(`name: offline
version: 1.0.0
summary: s
description: d
license: GPL-2.0-or-later
source:
  git: https://unreachable.invalid/offline.git
  tag: v1.0.0
  commit: 0f13345bcef588d2bb70d662d41e92ee8a816d85
build:
  kind: autotools
  build_depends: [autoconf, automake, libtool, gcc, make]
  configure_flags: [--disable-shared]
`), 0o644))
	e := newEnv(t, specs)
	r := e.run(t, "build", "all")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "--source offline=DIR") || !strings.Contains(r.stderr, "FAILED") {
		t.Errorf("stderr lacks the failure and its way out:\n%s", r.stderr)
	}
	if got := len(debsOf(t, r)); got != len(fixturePackages) {
		t.Errorf("%d packages built, want the %d others:\n%s", got, len(fixturePackages), r.stdout)
	}
	// --source builds it from a local directory (here: the autotools fixture).
	r = e.run(t, "build", "offline", "--source", "offline="+filepath.Join(specs, "src/autohello"))
	if r.code != 0 || !strings.Contains(r.stdout, "offline_1.0.0-1_") {
		t.Errorf("--source build: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// --except leaves it out on purpose.
	if r := e.run(t, "build", "all", "--except", "offline"); r.code != 0 {
		t.Errorf("--except: exit %d\n%s", r.code, r.stderr)
	}
}

func TestVerifyReproducibleCommand(t *testing.T) {
	e := newEnv(t, "testdata/specs")
	r := e.run(t, "verify-reproducible", "hello-make", "hello-script")
	if r.code != 0 || strings.Count(r.stdout, "\treproducible") != 2 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// "all", as the README writes it, once said "--rebuild all: unknown
	// component".
	sub := newEnv(t, fixtureSubset(t, "hello-script"))
	if r := sub.run(t, "verify-reproducible", "all"); r.code != 0 || strings.Count(r.stdout, "\treproducible") != 1 {
		t.Fatalf("verify-reproducible all: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// serve answers with the repository and Debian content types.
func TestServe(t *testing.T) {
	e, _ := fixtures(t)
	cmd := exec.Command(debforgeBin, "--out", e.out, "--specs", e.specs, "serve", "--addr", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line := make([]byte, 64)
	n, _ := stdout.Read(line)
	base := strings.TrimSpace(string(line[:n]))
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("serve printed %q", base)
	}
	for path, ctype := range map[string]string{"dists/fixtures/InRelease": "text/plain", "pool/main/h/hello-go/hello-go_1.0.0-1_amd64.deb": "application/vnd.debian.binary-package", "fixtures-archive-keyring.asc": "application/pgp-keys"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	// An error (no answer at all) must fail the test too, not pass it.
	resp, err := http.Post(base+"dists/", "text/plain", nil)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %d, want 405", resp.StatusCode)
	}
}

// Changing one spec rebuilds exactly that package and those that come
// after it; everything else comes from the cache.
func TestChangedSpecRebuildsOnlyItAndDependents(t *testing.T) {
	specs := tempDir(t)
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("first build: %s", r.stderr)
	}
	p := filepath.Join(specs, "hello-make.yaml")
	testutil.Must(t, os.WriteFile(p, bytes.Replace(mustRead(t, p), []byte("version: 2.0.0"), []byte("version: 2.0.1"), 1), 0o644))
	r := e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("second build: %s", r.stderr)
	}
	for name, want := range map[string]string{"hello-make": "(built,", "hello-meta": "(built,", "hello-go": "(cached,", "hello-autotools": "(cached,", "hello-script": "(cached,"} {
		if !regexp.MustCompile(regexp.QuoteMeta(name) + `\s+done ` + regexp.QuoteMeta(want)).MatchString(r.stderr) {
			t.Errorf("%s: want %s\n%s", name, want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "hello-make_2.0.1-1_amd64.deb") {
		t.Errorf("new version not published:\n%s", r.stdout)
	}
	// The old version stays in the pool (keep: 2) so hosts can downgrade.
	if old, _ := filepath.Glob(filepath.Join(e.out, "repo/pool/main/h/hello-make/hello-make_2.0.0-1_amd64.deb")); len(old) != 1 {
		t.Error("previous version pruned too early")
	}
}

// Issue 15 item 3: two runs sharing one cache dir (on shared storage, or
// on one machine) build a package once. The second run starts while the
// first is inside the build, waits for that cache entry, and publishes the
// first run's package, .buildinfo and SBOM, byte for byte.
func TestSharedCacheBuildsEachKeyOnce(t *testing.T) {
	specs := fixtureSubset(t)
	writeSlowSpec(t, specs, 8, "a second run starts during its build")
	a := newEnv(t, specs)
	b := a
	b.out = filepath.Join(tempDir(t), "out")
	first := make(chan result, 1)
	go func() { first <- a.run(t, "build", "all") }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if w, _ := filepath.Glob(filepath.Join(a.cache, "work", "slow-*")); len(w) > 0 {
			break // the first run holds the entry and builds
		}
		select {
		case r := <-first:
			t.Fatalf("the first run ended before its build was seen: exit %d\n%s", r.code, testutil.LastLines(r.stderr, 30))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run never started building slow")
		}
	}
	rb := b.run(t, "build", "all")
	ra := <-first
	if ra.code != 0 || rb.code != 0 {
		t.Fatalf("exit %d and %d\nfirst:\n%s\nsecond:\n%s", ra.code, rb.code, testutil.LastLines(ra.stderr, 20), testutil.LastLines(rb.stderr, 20))
	}
	if !regexp.MustCompile(`(?m)^\[ *[0-9.]+s\] slow +done \(built,`).MatchString(ra.stderr) {
		t.Errorf("the first run did not build slow:\n%s", ra.stderr)
	}
	if !regexp.MustCompile(`(?m)^\[ *[0-9.]+s\] slow +wait$`).MatchString(rb.stderr) ||
		!regexp.MustCompile(`(?m)^\[ *[0-9.]+s\] slow +done \(cached,`).MatchString(rb.stderr) {
		t.Errorf("the second run should have waited for the first one's build of slow and used it:\n%s", rb.stderr)
	}
	var pools [2]string
	for i, e := range []env{a, b} {
		pools[i] = treeHash(t, filepath.Join(e.out, "repo", "pool"))
		for _, ext := range []string{".deb", ".buildinfo", ".spdx.json"} {
			if m, _ := filepath.Glob(filepath.Join(e.out, "repo", "pool", "main", "s", "slow", "*"+ext)); len(m) != 1 {
				t.Errorf("%s: %d %s files for slow, want 1", e.out, len(m), ext)
			}
		}
	}
	if pools[0] != pools[1] {
		t.Error("the two runs published different pools")
	}
}

// A system service packaged with the systemd-service and conffile rules
// is lintian-clean as written, its config a conffile; installed with apt
// in a bookworm root (no systemd running there) it is enabled as
// dh_installsystemd's scripts enable it, removed it is masked (its
// enablement kept for a reinstall), purged it leaves nothing. The booted-host tests run the same package on systemd.
func TestServicePackageIsLintianCleanAndEnabled(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb", "lintian")
	e := newEnv(t, "testdata/servicespecs")
	r := e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	deb := debsOf(t, r)["acme-hello-service"]
	if deb == "" {
		t.Fatalf("no acme-hello-service package:\n%s", r.stdout)
	}
	for _, line := range lintianErrors(t, deb) {
		t.Errorf("lintian: %s", line)
	}
	x := t.TempDir()
	sh(t, "dpkg-deb", "-e", deb, x)
	if conffiles := string(mustRead(t, filepath.Join(x, "conffiles"))); conffiles != "/etc/hello-service.conf\n" {
		t.Errorf("conffiles %q, want /etc/hello-service.conf", conffiles)
	}

	root := rootfs(t, "bookworm")
	addRepo(t, root, filepath.Join(e.out, "repo"))
	const wants = "etc/systemd/system/multi-user.target.wants/hello-service.service"
	for _, step := range []struct {
		args       []string
		link, mask bool
	}{
		{[]string{"apt-get", "update"}, false, false},
		{[]string{"apt-get", "install", "-y", "acme-hello-service"}, true, false},
		// remove keeps the enablement for a reinstall and masks the unit.
		{[]string{"apt-get", "remove", "-y", "acme-hello-service"}, true, true},
		{[]string{"apt-get", "purge", "-y", "acme-hello-service"}, false, false},
	} {
		if out, err := inRoot(root, step.args...); err != nil {
			t.Fatalf("%v: %v\n%s", step.args, err, out)
		}
		_, err := os.Lstat(filepath.Join(root, wants))
		if linked := err == nil; linked != step.link {
			t.Errorf("after %v: enabled %v, want %v", step.args, linked, step.link)
		}
		target, _ := os.Readlink(filepath.Join(root, "etc/systemd/system/hello-service.service"))
		if masked := target == "/dev/null"; masked != step.mask {
			t.Errorf("after %v: masked %v, want %v", step.args, masked, step.mask)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/hello-service.conf")); !os.IsNotExist(err) {
		t.Errorf("purge left /etc/hello-service.conf (%v)", err)
	}
}
