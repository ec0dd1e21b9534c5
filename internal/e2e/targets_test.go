//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// targetSpecs copies the fixture specs with targets for bookworm/amd64,
// bookworm/arm64 and trixie/amd64; the C fixtures (and the meta-package
// that needs them) are restricted to amd64.
func targetSpecs(t *testing.T) string {
	t.Helper()
	specs := t.TempDir()
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	conf := filepath.Join(specs, "debforge.yaml")
	data, _ := os.ReadFile(conf)
	os.WriteFile(conf, append(data, "targets: [bookworm/amd64, bookworm/arm64, trixie/amd64]\n"...), 0o644)
	for _, name := range []string{"hello-make", "hello-autotools", "hello-meta"} {
		p := filepath.Join(specs, name+".yaml")
		data, _ := os.ReadFile(p)
		os.WriteFile(p, append(data, "architectures: [amd64]\n"...), 0o644)
	}
	return specs
}

// Issue 13: one build for three targets publishes dists/bookworm with
// amd64 and arm64 and dists/trixie with amd64; the Go fixture is
// cross-compiled for arm64 (file says aarch64; it runs under qemu-user),
// restricted specs say they are skipped; trixie hosts install the trixie
// builds with apt from the trixie .sources; a second build is all cached;
// a --target outside the list is a usage error.
func TestTargetsBuildAndPublish(t *testing.T) {
	testutil.RequireTool(t, "file", "dpkg-deb")
	e := newEnv(t, targetSpecs(t))
	r := e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"skipped for bookworm/arm64: ", "hello-make.yaml builds only for architectures amd64"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// The pure Go fixture compiled once for amd64: trixie's package
	// reused bookworm's compile (same toolchain, module, flags, arch).
	if !regexp.MustCompile(`hello-go@trixie/amd64 +1\.0\.0-1\+deb13 +shared `).MatchString(r.stderr) ||
		!regexp.MustCompile(`hello-go@bookworm/arm64 +1\.0\.0-1\+deb12 +miss `).MatchString(r.stderr) {
		t.Errorf("the summary does not show trixie/amd64's hello-go sharing bookworm's compile (and arm64 compiling its own):\n%s", r.stderr)
	}
	repo := filepath.Join(e.out, "repo")
	pool := func(name string) string {
		m, _ := filepath.Glob(filepath.Join(repo, "pool", "main", "*", "*", name))
		if len(m) != 1 {
			t.Errorf("pool has %v for %s", m, name)
			return ""
		}
		return m[0]
	}
	for _, n := range []string{"hello-go_1.0.0-1+deb12_amd64.deb", "hello-go_1.0.0-1+deb12_arm64.deb", "hello-go_1.0.0-1+deb13_amd64.deb",
		"hello-make_2.0.0-1+deb12_amd64.deb", "hello-make_2.0.0-1+deb13_amd64.deb", "hello-script_4.0.0-1+deb12_all.deb", "hello-script_4.0.0-1+deb13_all.deb"} {
		pool(n)
	}
	if m, _ := filepath.Glob(filepath.Join(repo, "pool", "main", "*", "*", "hello-make_*_arm64.deb")); len(m) != 0 {
		t.Errorf("a spec restricted to amd64 was built for arm64: %v", m)
	}
	arm := pool("hello-go_1.0.0-1+deb12_arm64.deb")
	x := t.TempDir()
	sh(t, "dpkg-deb", "-x", arm, x)
	bin := filepath.Join(x, "usr/bin/gohello")
	if out := sh(t, "file", "-b", bin); !strings.Contains(out, "ARM aarch64") {
		t.Errorf("arm64 package's gohello: file says %q", out)
	}
	if out := sh(t, "dpkg-deb", "-f", arm, "Architecture"); strings.TrimSpace(out) != "arm64" {
		t.Errorf("arm64 package says Architecture: %s", out)
	}
	t.Run("qemu", func(t *testing.T) {
		testutil.Binfmt(t, "arm64")
		if out, err := exec.Command(bin).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "gohello 1.0.0" {
			t.Errorf("arm64 gohello under qemu: %q %v", out, err)
		}
	})
	idx, err := os.ReadFile(filepath.Join(repo, "dists/bookworm/main/binary-arm64/Packages"))
	if err != nil || !strings.Contains(string(idx), "Version: 1.0.0-1+deb12\nArchitecture: arm64") && !strings.Contains(string(idx), "Architecture: arm64") {
		t.Errorf("bookworm arm64 index: %v\n%s", err, idx)
	}
	if !strings.Contains(string(idx), "Package: hello-script\n") || strings.Contains(string(idx), "+deb13") {
		t.Errorf("bookworm arm64 index lacks the arch: all package or has trixie builds:\n%s", idx)
	}

	root := rootfs(t, "trixie")
	useSources(t, root, repo, "fixtures-archive-keyring-trixie.sources")
	if out, err := inRoot(root, "apt-get", "install", "-y", "hello-meta"); err != nil {
		t.Fatalf("trixie: apt-get install hello-meta: %v\n%s", err, out)
	}
	for bin, want := range map[string]string{"gohello": "gohello 1.0.0", "makehello": "makehello 2.0.0", "autohello": "autohello 3.1.4", "scripthello": "scripthello 4.0.0"} {
		if got, err := inRoot(root, bin); err != nil || strings.TrimSpace(got) != want {
			t.Errorf("trixie: %s printed %q (%v), want %q", bin, got, err, want)
		}
	}
	if out, _ := inRoot(root, "dpkg-query", "-W", "-f", "${Version}", "hello-go"); out != "1.0.0-1+deb13" {
		t.Errorf("trixie installed hello-go %q, want the +deb13 build", out)
	}

	if r := e.run(t, "list"); r.code != 0 || !regexp.MustCompile(`(?m)^hello-go +1\.0\.0-1 +\S+ +hello-go +yes`).MatchString(r.stdout) {
		t.Errorf("list does not show hello-go built: exit %d\n%s", r.code, r.stdout)
	}
	r = e.run(t, "build", "all")
	if r.code != 0 || strings.Contains(r.stderr, "(built,") {
		t.Errorf("second build: exit %d, something rebuilt:\n%s", r.code, r.stderr)
	}
	r = e.run(t, "build", "--target", "trixie/arm64", "hello-go")
	if r.code != 2 || !strings.Contains(r.stderr, "--target trixie/arm64: not one of the targets in") {
		t.Errorf("--target outside the list: exit %d\n%s", r.code, r.stderr)
	}
	r = e.run(t, "build", "--target", "bookworm/arm64", "hello-go")
	if r.code != 0 || strings.Contains(r.stderr, "trixie") {
		t.Errorf("--target bookworm/arm64: exit %d\n%s", r.code, r.stderr)
	}
	// The arm64 Go package builds byte for byte the same in a fresh cache.
	r = e.run(t, "verify-reproducible", "--target", "bookworm/arm64", "hello-go")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "hello-go@bookworm/arm64\treproducible" {
		t.Errorf("verify-reproducible --target bookworm/arm64: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// A C fixture cannot build for arm64 on a machine without the cross
// compiler: one clear error naming it and what to install; the other
// builds of every target are published; exit 1.
func TestTargetWithoutCrossToolchain(t *testing.T) {
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err == nil {
		t.Skip("this machine has the arm64 cross compiler: the case under test cannot happen here")
	}
	specs := t.TempDir()
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	conf := filepath.Join(specs, "debforge.yaml")
	data, _ := os.ReadFile(conf)
	os.WriteFile(conf, append(data, "targets: [bookworm/amd64, bookworm/arm64]\n"...), 0o644)
	e := newEnv(t, specs)
	r := e.run(t, "build", "hello-make", "hello-go")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"hello-make@bookworm/arm64", "cross compiler aarch64-linux-gnu-gcc not found", "hint: install gcc-aarch64-linux-gnu"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	repo := filepath.Join(e.out, "repo")
	idx, err := os.ReadFile(filepath.Join(repo, "dists/bookworm/main/binary-arm64/Packages"))
	if err != nil || !strings.Contains(string(idx), "Package: hello-go\n") || strings.Contains(string(idx), "Package: hello-make\n") {
		t.Errorf("arm64 index should hold hello-go and not hello-make: %v\n%s", err, idx)
	}
	idx, _ = os.ReadFile(filepath.Join(repo, "dists/bookworm/main/binary-amd64/Packages"))
	if !strings.Contains(string(idx), "Package: hello-make\n") {
		t.Errorf("amd64 hello-make not published beside the failed arm64 build:\n%s", idx)
	}
}
