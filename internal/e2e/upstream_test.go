//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/debforge/debforge/internal/testutil"
)

// hardeningCheck runs devscripts' hardening-check on bin. Bookworm's
// glibc start files carry no CET marking, so no bookworm binary has
// IBT/SHSTK and Debian's bookworm flags do not ask for it:
// --nocfprotection.
func hardeningCheck(bin string) (string, error) {
	out, err := exec.Command("hardening-check", "--nocfprotection", bin).CombinedOutput()
	return string(out), err
}

// Issue 11 item 4, issue 28 item 1: a Makefile that assigns its own
// CFLAGS and LDFLAGS ignores the flags in the environment. By default a
// binary that lacks a linker feature (here bindnow: the Makefile links
// with -z lazy) fails the build, naming the file and the vars: line to
// add; build.hardening: warn (with a reason) only warns; strict fails on
// every feature; build.vars with {{.CFLAGS}}, {{.CPPFLAGS}} and
// {{.LDFLAGS}} gives a binary hardening-check passes.
func TestHardeningOwnCFLAGS(t *testing.T) {
	testutil.RequireTool(t, "gcc", "make", "dpkg-deb", "lintian", "hardening-check")
	e := newEnv(t, "testdata/upstreamspecs")

	r := e.run(t, "build", "ownflags")
	if r.code == 0 {
		t.Fatalf("build ownflags (a binary without bindnow) succeeded by default:\n%s", r.stderr)
	}
	for _, want := range []string{"/usr/bin/ownflags lacks hardening:", "bindnow", `vars: {CFLAGS: "{{.CFLAGS}} {{.CPPFLAGS}}", LDFLAGS: "{{.LDFLAGS}}"}`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("build ownflags: no %q on stderr:\n%s", want, r.stderr)
		}
	}

	r = e.run(t, "build", "ownflags-warn")
	if r.code != 0 {
		t.Fatalf("build ownflags-warn: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"debforge: warning: ownflags-warn: /usr/bin/ownflags lacks hardening:",
		"stackprotector (compile with -fstack-protector-strong ({{.CFLAGS}})", "bindnow", "build.hardening: strict"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("build ownflags-warn: no %q on stderr:\n%s", want, r.stderr)
		}
	}
	bin := unpackedFile(t, strings.TrimSpace(r.stdout), "usr/bin/ownflags")
	if out, err := hardeningCheck(bin); err == nil {
		t.Errorf("hardening-check passes the unhardened binary, so the warning above is not backed:\n%s", out)
	}

	r = e.run(t, "build", "ownflags-strict")
	if r.code == 0 {
		t.Fatalf("build ownflags-strict succeeded with build.hardening: strict:\n%s", r.stderr)
	}
	for _, want := range []string{"/usr/bin/ownflags lacks hardening:", "hint:", "build.vars"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("build ownflags-strict: no %q on stderr:\n%s", want, r.stderr)
		}
	}

	r = e.run(t, "build", "ownflags-hardened")
	if r.code != 0 {
		t.Fatalf("build ownflags-hardened: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "warning:") {
		t.Errorf("build ownflags-hardened warns:\n%s", r.stderr)
	}
	deb := strings.TrimSpace(r.stdout)
	bin = unpackedFile(t, deb, "usr/bin/ownflags")
	if out, err := hardeningCheck(bin); err != nil {
		t.Errorf("hardening-check: %v\n%s", err, out)
	}
	if out := sh(t, bin, "--version"); out != "ownflags 1.0.0\n" {
		t.Errorf("--version = %q", out)
	}
	if bad := lintianErrors(t, deb); len(bad) > 0 {
		t.Errorf("lintian:\n%s", strings.Join(bad, "\n"))
	}
}

// unpackedFile unpacks deb into a temporary directory and returns the
// path of rel in it.
func unpackedFile(t *testing.T, deb, rel string) string {
	t.Helper()
	dir := t.TempDir()
	sh(t, "dpkg-deb", "-x", deb, dir)
	return filepath.Join(dir, rel)
}

// Issue 11 item 5: a Go program that reads its version from
// debug.ReadBuildInfo printed "(devel)" when built from a module zip. The
// fixture module is served by a local module proxy (a file:// GOPROXY made
// from testdata), as the Go module proxy serves a real one.
func TestGoBuildInfoVersion(t *testing.T) {
	testutil.RequireTool(t, "go", "dpkg-deb", "lintian")
	e := newEnv(t, "testdata/upstreamspecs")
	proxy := t.TempDir()
	mv := module.Version{Path: "example.org/versionhello", Version: "v1.4.0"}
	dir := filepath.Join(proxy, mv.Path, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(dir, mv.Version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(zf, mv, "testdata/upstreamspecs/src/versionhello"); err != nil {
		t.Fatal(err)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
	goMod, err := os.ReadFile("testdata/upstreamspecs/src/versionhello/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		mv.Version + ".mod":  goMod,
		mv.Version + ".info": []byte(`{"Version":"v1.4.0","Time":"2026-01-01T00:00:00Z"}`),
		"list":               []byte(mv.Version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(debforgeBin, "--specs", e.specs, "--out", e.out, "--cache-dir", e.cache, "--signing-key", e.key, "build", "versionhello")
	cmd.Env = append(os.Environ(), "GOPROXY=file://"+proxy, "GOFLAGS=")
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("build versionhello: %v\n%s", err, se.String())
	}
	deb := strings.TrimSpace(so.String())
	bin := unpackedFile(t, deb, "usr/bin/versionhello")
	if out := sh(t, bin, "--version"); out != "versionhello v1.4.0\n" {
		t.Errorf("--version = %q, want the module version", out)
	}
	if out := sh(t, "go", "version", "-m", bin); !strings.Contains(out, "\tmod\texample.org/versionhello\tv1.4.0\th1:") {
		t.Errorf("build info lacks the module's version and sum:\n%s", out)
	}
	if bad := lintianErrors(t, deb); len(bad) > 0 {
		t.Errorf("lintian:\n%s", strings.Join(bad, "\n"))
	}
}

// Issue 11 item 6: a package named like one in the target release (GNU
// hello is in every Debian release) is installed over by the release's
// when that has a higher version. The build warns and says how to name
// it; a name the release does not have (ownflags-hardened, above) gets no
// warning.
func TestNameCollisionWarns(t *testing.T) {
	testutil.RequireTool(t, "apt-cache", "dpkg-deb")
	if out, err := exec.Command("apt-cache", "show", "hello").CombinedOutput(); err != nil {
		t.Fatalf("this host's apt lists do not know GNU hello (run apt-get update): %v\n%s", err, out)
	}
	e := newEnv(t, "testdata/upstreamspecs")
	r := e.run(t, "build", "hello")
	if r.code != 0 {
		t.Fatalf("build hello: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{`debforge: warning: hello: package name "hello" is taken by a package of the target release`,
		`"upstream-hello"`, `provides: ["hello (= 99.0)"], conflicts: [hello], replaces: [hello]`, "naming your own packages"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no %q on stderr:\n%s", want, r.stderr)
		}
	}
}

// Issue 11 item 6, per target: the names come from the build root of the
// release built for, not from the host. ani-cli is a package of trixie
// and not of bookworm (this host's release): a package so named warns
// for its trixie build only, which the host's apt lists could not tell.
func TestNameCollisionFollowsTarget(t *testing.T) {
	testutil.RequireTool(t, "apt-cache")
	if out, err := exec.Command("apt-cache", "show", "ani-cli").CombinedOutput(); err == nil {
		t.Fatalf("this host's apt lists know ani-cli, which the test needs to be trixie's only:\n%s", out)
	}
	specs := t.TempDir()
	sh(t, "cp", "testdata/upstreamspecs/debforge.yaml", specs)
	data, err := os.ReadFile("testdata/upstreamspecs/hello.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := strings.NewReplacer("name: hello\n", "name: ani-cli\n", "source:\n  dir: src/ownflags", "source:\n  dir: .").Replace(string(data))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "ani-cli.yaml"), []byte(spec), 0o644))
	conf := filepath.Join(specs, "debforge.yaml")
	data, _ = os.ReadFile(conf)
	testutil.Must(t, os.WriteFile(conf, append(data, "targets: [bookworm/amd64, trixie/amd64]\n"...), 0o644))
	e := newEnv(t, specs)
	r := e.run(t, "build", "ani-cli")
	if r.code != 0 {
		t.Fatalf("build ani-cli: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `debforge: warning: ani-cli@trixie/amd64: package name "ani-cli" is taken by a package of the target release`) ||
		strings.Contains(r.stderr, `ani-cli@bookworm/amd64: package name`) {
		t.Errorf("want the warning for the trixie build only:\n%s", r.stderr)
	}
}
