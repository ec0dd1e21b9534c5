//go:build integration

package e2e

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// targetSpecs copies the fixture specs, and the cgo fixture (a small
// runc: cgo, static-pie, libseccomp, help2man), with all four targets.
// Every C fixture cross-builds for arm64 in a cross root. The autotools
// fixture (a program with a library of its own and a conffile) builds
// for all four; the make fixture for three and the cgo fixture for
// bookworm only (cross roots fewer to make).
func targetSpecs(t *testing.T) string {
	t.Helper()
	specs := t.TempDir()
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	sh(t, "cp", "-a", "testdata/crossspecs/.", specs)
	conf := filepath.Join(specs, "debforge.yaml")
	data, _ := os.ReadFile(conf)
	testutil.Must(t, os.WriteFile(conf, append(data, "targets: [bookworm/amd64, bookworm/arm64, trixie/amd64, trixie/arm64]\n"...), 0o644))
	for name, targets := range map[string]string{"hello-cgo.yaml": "[bookworm/amd64, bookworm/arm64]", "hello-make.yaml": "[bookworm/amd64, bookworm/arm64, trixie/amd64]"} {
		p := filepath.Join(specs, name)
		data, _ = os.ReadFile(p)
		testutil.Must(t, os.WriteFile(p, append(data, "targets: "+targets+"\n"...), 0o644))
	}
	return specs
}

// Issue 13: one build for three targets publishes dists/bookworm with
// amd64 and arm64 and dists/trixie with amd64. Go is cross-compiled with
// GOARCH; make, autotools and cgo (static, libseccomp) with Debian's
// cross toolchain and the arm64 -dev packages in a cross build root, and
// dpkg-shlibdeps computes arm64 dependencies; help2man documents the
// arm64 cgo binary by running a native build of it. apt installs the arm64
// packages into a bookworm/arm64 root (run under qemu-user) and they
// run; trixie hosts install the trixie builds with apt from the trixie
// .sources; a second build is all cached; a --target outside the list
// is a usage error; the arm64 Go and cgo packages are reproducible.
func TestTargetsBuildAndPublish(t *testing.T) {
	testutil.RequireTool(t, "file", "dpkg-deb", "lintian")
	e := newEnv(t, targetSpecs(t))
	r := e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"skipped for trixie/amd64: ", "hello-cgo.yaml builds only for targets bookworm/amd64, bookworm/arm64"} {
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
	for _, n := range []string{"hello-go_1.0.0-1+deb12_amd64.deb", "hello-go_1.0.0-1+deb13_amd64.deb",
		"hello-make_2.0.0-1+deb12_amd64.deb", "hello-make_2.0.0-1+deb13_amd64.deb", "hello-script_4.0.0-1+deb12_all.deb", "hello-script_4.0.0-1+deb13_all.deb",
		"hello-cgo_1.0.0-1+deb12_amd64.deb"} {
		pool(n)
	}
	if m, _ := filepath.Glob(filepath.Join(repo, "pool", "main", "*", "*", "hello-cgo_*+deb13_*.deb")); len(m) != 0 {
		t.Errorf("a spec restricted to bookworm was built for trixie: %v", m)
	}
	// Every arm64 package holds aarch64 code; the dynamically linked C
	// ones depend on arm64's libc as dpkg-shlibdeps found it in the
	// cross root; the static cgo one on nothing, with its man page.
	arm := map[string]string{"gohello": "hello-go_1.0.0-1+deb12_arm64.deb", "makehello": "hello-make_2.0.0-1+deb12_arm64.deb",
		"autohello": "hello-autotools_3.1.4-1+deb12_arm64.deb", "cgohello": "hello-cgo_1.0.0-1+deb12_arm64.deb"}
	for bin, name := range arm {
		deb := pool(name)
		if deb == "" {
			continue
		}
		x := t.TempDir()
		sh(t, "dpkg-deb", "-x", deb, x)
		out := sh(t, "file", "-b", filepath.Join(x, "usr/bin", bin))
		if !strings.Contains(out, "ARM aarch64") {
			t.Errorf("%s: %s: file says %q", name, bin, out)
		}
		if bin == "cgohello" && !strings.Contains(out, "static-pie linked") {
			t.Errorf("%s: cgohello is not static-pie: %q", name, out)
		}
		if got := strings.TrimSpace(sh(t, "dpkg-deb", "-f", deb, "Architecture")); got != "arm64" {
			t.Errorf("%s says Architecture: %s", name, got)
		}
		depends := sh(t, "dpkg-deb", "-f", deb, "Depends")
		if (bin == "makehello" || bin == "autohello") && !regexp.MustCompile(`(^|, )libc6 \(>= 2\.\d+\)`).MatchString(depends) {
			t.Errorf("%s: Depends %q lacks the libc6 that dpkg-shlibdeps finds", name, depends)
		}
		if bin == "cgohello" {
			page, err := exec.Command("sh", "-c", "gzip -dc "+filepath.Join(x, "usr/share/man/man1/cgohello.1.gz")).Output()
			if err != nil || !strings.Contains(string(page), "cgohello 1.0.0") {
				t.Errorf("%s: the man page help2man wrote by running the arm64 binary: %v\n%s", name, err, page)
			}
		}
		if errs := lintianErrors(t, deb); len(errs) > 0 {
			t.Errorf("%s: lintian:\n%s", name, strings.Join(errs, "\n"))
		}
	}
	// Each release's C builds carry that release's dpkg-buildflags:
	// trixie's hardening=+all adds control-flow protection on amd64, an
	// endbr64 at the entry of every function compiled with it (the
	// binaries are stripped, so count them all: the C runtime's own
	// objects bring the same few to both).
	endbr := map[string]int{}
	for _, name := range []string{"hello-autotools_3.1.4-1+deb13_amd64.deb", "hello-autotools_3.1.4-1+deb12_amd64.deb"} {
		if deb := pool(name); deb != "" {
			endbr[name] = strings.Count(sh(t, "objdump", "-d", unpackedFile(t, deb, "usr/bin/autohello")), "endbr64")
		}
	}
	if trixie, bookworm := endbr["hello-autotools_3.1.4-1+deb13_amd64.deb"], endbr["hello-autotools_3.1.4-1+deb12_amd64.deb"]; trixie <= bookworm {
		t.Errorf("trixie's autohello has %d endbr64 instructions, bookworm's %d: trixie's dpkg-buildflags (-fcf-protection) did not reach the compiler", trixie, bookworm)
	}
	checkAutotoolsOnEveryTarget(t, pool)

	// list --repo reads every release of targets: by default.
	if r := debforge(t, "--specs", e.specs, "list", "--repo", repo, "--keyring", filepath.Join(repo, "fixtures-archive-keyring.asc")); r.code != 0 ||
		!strings.Contains(r.stdout, " bookworm ") || !strings.Contains(r.stdout, " trixie ") {
		t.Errorf("list --repo without --dist: exit %d, want both releases listed\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	idx, err := os.ReadFile(filepath.Join(repo, "dists/bookworm/main/binary-arm64/Packages"))
	if err != nil || !strings.Contains(string(idx), "Version: 1.0.0-1+deb12\nArchitecture: arm64") && !strings.Contains(string(idx), "Architecture: arm64") {
		t.Errorf("bookworm arm64 index: %v\n%s", err, idx)
	}
	if !strings.Contains(string(idx), "Package: hello-script\n") || strings.Contains(string(idx), "+deb13") {
		t.Errorf("bookworm arm64 index lacks the arch: all package or has trixie builds:\n%s", idx)
	}

	// An arm64 host of bookworm installs them with apt and runs them
	// (under qemu-user: binfmt_misc registered from here on, not for the
	// build, which emulates nothing).
	testutil.Binfmt(t, "arm64")
	armRoot := rootfsArch(t, "bookworm", "arm64")
	useSources(t, armRoot, repo, "fixtures-archive-keyring-bookworm.sources")
	if out, err := inRoot(armRoot, "apt-get", "install", "-y", "hello-meta", "hello-cgo"); err != nil {
		t.Fatalf("bookworm/arm64: apt-get install hello-meta hello-cgo: %v\n%s", err, out)
	}
	for bin, want := range map[string]string{"gohello": "gohello 1.0.0", "makehello": "makehello 2.0.0", "autohello": "autohello 3.1.4",
		"scripthello": "scripthello 4.0.0", "cgohello": "cgohello 1.0.0 (libseccomp 2.5.4)"} {
		if got, err := inRoot(armRoot, bin); err != nil || strings.TrimSpace(got) != want {
			t.Errorf("bookworm/arm64: %s printed %q (%v), want %q", bin, got, err, want)
		}
	}
	if out, _ := inRoot(armRoot, "dpkg", "--print-architecture"); strings.TrimSpace(out) != "arm64" {
		t.Errorf("the arm64 root's dpkg says %q", out)
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
	if got, err := inRoot(root, "autohello", "--greeting"); err != nil || strings.TrimSpace(got) != "Hello from autohello's conffile" {
		t.Errorf("trixie: autohello --greeting printed %q (%v), want the line of /etc/autohello.conf", got, err)
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
	narrow := t.TempDir()
	sh(t, "cp", "-a", e.specs+"/.", narrow)
	conf, _ := os.ReadFile(filepath.Join(narrow, "debforge.yaml"))
	testutil.Must(t, os.WriteFile(filepath.Join(narrow, "debforge.yaml"), []byte(strings.Replace(string(conf), ", trixie/arm64]", "]", 1)), 0o644))
	r = debforge(t, "--specs", narrow, "--out", e.out, "--cache-dir", e.cache, "--signing-key", e.key, "build", "--target", "trixie/arm64", "hello-go")
	if r.code != 2 || !strings.Contains(r.stderr, "--target trixie/arm64: not one of the targets in") {
		t.Errorf("--target outside the list: exit %d\n%s", r.code, r.stderr)
	}
	r = e.run(t, "build", "--target", "bookworm/arm64", "hello-go")
	if r.code != 0 || strings.Contains(r.stderr, "trixie") {
		t.Errorf("--target bookworm/arm64: exit %d\n%s", r.code, r.stderr)
	}
	// The arm64 Go and cgo packages build byte for byte the same in a
	// fresh cache.
	r = e.run(t, "verify-reproducible", "--target", "bookworm/arm64", "hello-go", "hello-cgo")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "hello-cgo@bookworm/arm64\treproducible\nhello-go@bookworm/arm64\treproducible" {
		t.Errorf("verify-reproducible --target bookworm/arm64: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// checkAutotoolsOnEveryTarget checks the autotools fixture as a Debian
// developer would on each of the four targets: lintian -EvIL +pedantic
// finds no error or warning, with no override but debforge's own (a
// private repository's first upload closes no bug); /etc/autohello.conf
// is a conffile; the library's headers, static archive, .la and .pc are
// left out (package.exclude; .la always); the upstream manual page ships;
// arm64 builds hold aarch64 code, and trixie's arm64 build carries
// trixie's branch protection (-mbranch-protection=standard: a paciasp,
// or its hint form, in each function that saves its return address).
func checkAutotoolsOnEveryTarget(t *testing.T, pool func(string) string) {
	t.Helper()
	paciasp := map[string]int{}
	for _, target := range []string{"deb12_amd64", "deb12_arm64", "deb13_amd64", "deb13_arm64"} {
		name := "hello-autotools_3.1.4-1+" + target + ".deb"
		deb := pool(name)
		if deb == "" {
			continue
		}
		for _, line := range lintianErrors(t, deb) {
			t.Errorf("%s: lintian: %s", name, line)
		}
		contents := sh(t, "dpkg-deb", "--contents", deb)
		for _, want := range []string{"./usr/bin/autohello\n", "./etc/autohello.conf\n", "./usr/share/man/man1/autohello.1.gz\n"} {
			if !strings.Contains(contents, want) {
				t.Errorf("%s does not ship %s", name, strings.TrimSpace(want))
			}
		}
		for _, unwanted := range []string{"/usr/include/", ".a\n", ".la\n", "/pkgconfig/", ".so"} {
			if strings.Contains(contents, unwanted) {
				t.Errorf("%s ships %q, which it should leave out:\n%s", name, unwanted, contents)
			}
		}
		x := t.TempDir()
		sh(t, "dpkg-deb", "-x", deb, x)
		overrides, err := os.ReadFile(filepath.Join(x, "usr/share/lintian/overrides/hello-autotools"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(overrides), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") && line != "hello-autotools: initial-upload-closes-no-bugs" {
				t.Errorf("%s: a lintian override beyond debforge's own: %s", name, line)
			}
		}
		if conffiles := sh(t, "dpkg-deb", "--info", deb, "conffiles"); strings.TrimSpace(conffiles) != "/etc/autohello.conf" {
			t.Errorf("%s: conffiles is %q, want /etc/autohello.conf", name, conffiles)
		}
		if strings.HasSuffix(target, "arm64") {
			bin := filepath.Join(x, "usr/bin/autohello")
			if out := sh(t, "file", "-b", bin); !strings.Contains(out, "ARM aarch64") {
				t.Errorf("%s: file says %q", name, out)
			}
			code, err := os.ReadFile(bin)
			testutil.Must(t, err)
			paciasp[target] = countWords(code, 0xd503233f)
		}
	}
	if paciasp["deb13_arm64"] <= paciasp["deb12_arm64"] {
		t.Errorf("trixie's arm64 autohello has %d paciasp instructions, bookworm's %d: trixie's dpkg-buildflags (-mbranch-protection=standard) did not reach the cross compiler",
			paciasp["deb13_arm64"], paciasp["deb12_arm64"])
	}
}

// countWords counts the aligned little-endian 32-bit words of data equal
// to w: an AArch64 instruction search that needs no arm64 disassembler.
func countWords(data []byte, w uint32) int {
	n := 0
	for i := 0; i+4 <= len(data); i += 4 {
		if binary.LittleEndian.Uint32(data[i:]) == w {
			n++
		}
	}
	return n
}

// A spec whose build dependency the release does not have for arm64
// (Debian builds libipt-dev for amd64 only) cannot build there: one
// clear error naming the package and the fix; the other builds of every
// target are published; exit 1.
func TestTargetCannotBuild(t *testing.T) {
	specs := t.TempDir()
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	conf := filepath.Join(specs, "debforge.yaml")
	data, _ := os.ReadFile(conf)
	testutil.Must(t, os.WriteFile(conf, append(data, "targets: [bookworm/amd64, bookworm/arm64]\n"...), 0o644))
	spec, _ := os.ReadFile(filepath.Join(specs, "hello-make.yaml"))
	ipt := strings.Replace(strings.Replace(string(spec), "name: hello-make", "name: hello-ipt", 1), "[gcc, make]", "[gcc, make, libipt-dev]", 1)
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "hello-ipt.yaml"), []byte(ipt+"architectures: [arm64]\n"), 0o644))
	e := newEnv(t, specs)
	r := e.run(t, "build", "hello-ipt", "hello-make", "hello-go")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"hello-ipt@bookworm/arm64", "cannot install libipt-dev:arm64 from the mirror (E: Unable to locate package libipt-dev:arm64)",
		"hint: check the names in build_depends", "skipped for bookworm/amd64: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	repo := filepath.Join(e.out, "repo")
	idx, err := os.ReadFile(filepath.Join(repo, "dists/bookworm/main/binary-arm64/Packages"))
	if err != nil || !strings.Contains(string(idx), "Package: hello-go\n") || !strings.Contains(string(idx), "Package: hello-make\n") || strings.Contains(string(idx), "Package: hello-ipt\n") {
		t.Errorf("arm64 index should hold hello-go and hello-make and not hello-ipt: %v\n%s", err, idx)
	}
	idx, _ = os.ReadFile(filepath.Join(repo, "dists/bookworm/main/binary-amd64/Packages"))
	if !strings.Contains(string(idx), "Package: hello-make\n") {
		t.Errorf("amd64 hello-make not published beside the failed arm64 build:\n%s", idx)
	}
}

// Cross builds emulate nothing: on a host that cannot run arm64 programs
// (binfmt_misc absent, as on CI), the cgo fixture's help2man step runs a
// native build of its binary and the arm64 package has the page. A script
// that does run its cross-compiled program fails, and the failure says
// the host cannot run arm64 programs and how to let it; the other builds
// are published; exit 1.
func TestCrossBuildWithoutEmulation(t *testing.T) {
	if data, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err == nil && strings.HasPrefix(string(data), "enabled") {
		t.Skip("this host runs arm64 programs through binfmt_misc: the case under test cannot happen here")
	}
	specs := t.TempDir()
	sh(t, "cp", "-a", "testdata/specs/.", specs)
	sh(t, "cp", "-a", "testdata/crossspecs/.", specs)
	conf := filepath.Join(specs, "debforge.yaml")
	data, _ := os.ReadFile(conf)
	testutil.Must(t, os.WriteFile(conf, append(data, "targets: [bookworm/amd64, bookworm/arm64]\n"...), 0o644))
	spec, _ := os.ReadFile(filepath.Join(specs, "hello-make.yaml"))
	runs := strings.Replace(strings.Replace(string(spec), "name: hello-make", "name: hello-runs", 1), "kind: make",
		"kind: script\n  steps:\n    - '\"$CC\" -o \"$WORK/m\" makehello.c'\n    - '\"$WORK/m\" > \"$WORK/out\"'\n    - install -D -m 0755 \"$WORK/m\" \"$DESTDIR/usr/bin/makehello\"", 1)
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "hello-runs.yaml"), []byte(runs+"architectures: [arm64]\n"), 0o644))
	e := newEnv(t, specs)
	r := e.run(t, "build", "hello-cgo", "hello-runs", "hello-go")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"hello-runs@bookworm/arm64: build: ", "(this host cannot run arm64 programs: ",
		"hint: if a step runs what the build made (help2man, a generator), install qemu-user-static and binfmt-support and register the interpreter (update-binfmts --enable qemu-aarch64)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "hello-cgo@bookworm/arm64: build") {
		t.Errorf("the cgo fixture's arm64 build failed:\n%s", r.stderr)
	}
	repo := filepath.Join(e.out, "repo")
	idx, err := os.ReadFile(filepath.Join(repo, "dists/bookworm/main/binary-arm64/Packages"))
	if err != nil || !strings.Contains(string(idx), "Package: hello-go\n") || !strings.Contains(string(idx), "Package: hello-cgo\n") || strings.Contains(string(idx), "Package: hello-runs\n") {
		t.Errorf("arm64 index should hold hello-go and hello-cgo, not hello-runs: %v\n%s", err, idx)
	}
	m, _ := filepath.Glob(filepath.Join(repo, "pool/main/h/hello-cgo/hello-cgo_*_arm64.deb"))
	if len(m) != 1 {
		t.Fatalf("arm64 hello-cgo in the pool: %v", m)
	}
	x := t.TempDir()
	sh(t, "dpkg-deb", "-x", m[0], x)
	page, err := exec.Command("sh", "-c", "gzip -dc "+filepath.Join(x, "usr/share/man/man1/cgohello.1.gz")).Output()
	if err != nil || !strings.Contains(string(page), "cgohello 1.0.0") {
		t.Errorf("the arm64 package's man page: %v\n%s", err, page)
	}
	if out := sh(t, "file", "-b", filepath.Join(x, "usr/bin/cgohello")); !strings.Contains(out, "ARM aarch64") {
		t.Errorf("arm64 cgohello: file says %q", out)
	}
}
