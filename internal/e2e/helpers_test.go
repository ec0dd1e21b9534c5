//go:build integration || stack

// Package e2e drives the real debforge binary against fixture specs and
// checks its packages with dpkg-deb, lintian and apt in Debian rootfs
// trees made by debootstrap.
package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

var debforgeBin string

// rootsDir keeps the build roots (keyed by content) between runs, so CI
// makes each once.
const rootsDir = "/var/cache/debforge-test/roots"

// runDir holds what one test run shares (the debforge binary, the
// fixture and stack builds) and is removed when the run ends: those
// builds left half a gigabyte in /tmp per run.
var runDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "debforge-e2e-")
	if err != nil {
		panic(err)
	}
	// The build uid binds paths below it into the sandbox.
	if err := os.Chmod(dir, 0o755); err != nil {
		panic(err)
	}
	runDir = dir
	if os.Getenv("DEBFORGE_ROOTS_DIR") == "" {
		os.Setenv("DEBFORGE_ROOTS_DIR", rootsDir)
	}
	debforgeBin = filepath.Join(dir, "debforge")
	if err := testutil.BuildDebforge("../..", debforgeBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tempDir is t.TempDir made searchable by the unprivileged build uid,
// which binds paths below it into the sandbox.
func tempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, p := range []string{d, filepath.Dir(d)} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

type result struct {
	stdout, stderr string
	code           int
}

// debforge runs the binary with the given arguments.
func debforge(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(debforgeBin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{so.String(), se.String(), code}
}

// env is one debforge setup: specs, out, cache and key in a temp dir.
type env struct {
	specs, out, cache, key string
}

func newEnv(t *testing.T, specs string) env {
	dir := tempDir(t)
	e := env{specs: specs, out: filepath.Join(dir, "out"), cache: filepath.Join(dir, "cache"), key: filepath.Join(dir, "key.asc")}
	e.keygen(t)
	return e
}

// keygen makes the env's signing key: debforge never makes one at a path
// it was given.
func (e env) keygen(t *testing.T) {
	t.Helper()
	if r := debforge(t, "--specs", e.specs, "--out", e.out, "--signing-key", e.key, "keygen"); r.code != 0 {
		t.Fatalf("keygen: exit %d\n%s", r.code, r.stderr)
	}
}

func (e env) run(t *testing.T, args ...string) result {
	t.Helper()
	return debforge(t, append([]string{"--specs", e.specs, "--out", e.out, "--cache-dir", e.cache, "--signing-key", e.key}, args...)...)
}

// built is the fixture repository, built once and shared read-only.
var (
	builtOnce sync.Once
	built     env
	builtRes  result
)

func fixtures(t *testing.T) (env, result) {
	t.Helper()
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp(runDir, "fixtures-")
		if err != nil {
			t.Fatal(err)
		}
		testutil.Must(t, os.Chmod(dir, 0o755))
		built = env{specs: "testdata/specs", out: filepath.Join(dir, "out"), cache: filepath.Join(dir, "cache"), key: filepath.Join(dir, "key.asc")}
		built.keygen(t)
		builtRes = built.run(t, "build", "all")
	})
	if builtRes.code != 0 {
		t.Fatalf("fixture build failed (exit %d):\n%s", builtRes.code, builtRes.stderr)
	}
	return built, builtRes
}

// treeHash fingerprints every path, mode and content under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		fmt.Fprintf(h, "%s %v\n", rel, info.Mode())
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			h.Write([]byte(l))
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rootfs returns a fresh copy of a minimal Debian tree of suite. The
// debootstrap result is cached as a tarball (DEBFORGE_ROOTFS_CACHE, default
// /var/cache/debforge-test) because making it takes about a minute.
func rootfs(t *testing.T, suite string) string {
	t.Helper()
	return rootfsArch(t, suite, "")
}

// rootfsArch is rootfs of another Debian architecture (arch "" is this
// machine's): mmdebstrap makes it, running the root's maintainer scripts
// under qemu-user, so the caller must have registered binfmt_misc
// (testutil.Binfmt) first. Cached beside the native ones.
func rootfsArch(t *testing.T, suite, arch string) string {
	t.Helper()
	testutil.RequireTool(t, "debootstrap", "mmdebstrap", "tar", "chroot")
	if os.Geteuid() != 0 {
		if os.Getenv("DEBFORGE_REQUIRE_TOOLS") == "1" {
			t.Fatal("rootfs tests need root")
		}
		t.Skip("rootfs tests need root")
	}
	cache := os.Getenv("DEBFORGE_ROOTFS_CACHE")
	if cache == "" {
		cache = "/var/cache/debforge-test"
	}
	name := runtime.GOARCH
	if arch != "" {
		name = arch
	}
	tarball := filepath.Join(cache, suite+"-minbase-"+name+".tar")
	rootfsMu.Lock()
	if _, err := os.Stat(tarball); err != nil {
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		tmp, err := os.MkdirTemp(cache, suite+"-")
		if err != nil {
			t.Fatal(err)
		}
		var cmd *exec.Cmd
		if arch == "" {
			args := []string{"--variant=minbase", suite, tmp}
			if m := testutil.DebianMirror(); m != "" {
				args = append(args, m)
			}
			cmd = exec.Command("debootstrap", args...)
		} else {
			args := []string{"--variant=minbase", "--mode=root", "--architectures=" + arch, suite, tmp}
			if m := testutil.DebianMirror(); m != "" {
				args = append(args, m)
			}
			cmd = exec.Command("mmdebstrap", args...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			rootfsMu.Unlock()
			os.RemoveAll(tmp)
			t.Fatalf("%s %s %s: %v\n%s", cmd.Args[0], suite, name, err, testutil.LastLines(string(out), 20))
		}
		// Tests use only their own repository.
		os.Remove(filepath.Join(tmp, "etc/apt/sources.list"))
		os.RemoveAll(filepath.Join(tmp, "etc/apt/sources.list.d"))
		testutil.Must(t, os.MkdirAll(filepath.Join(tmp, "etc/apt/sources.list.d"), 0o755))
		sh(t, "tar", "-C", tmp, "-cf", tarball+".tmp", ".")
		testutil.Must(t, os.Rename(tarball+".tmp", tarball))
		os.RemoveAll(tmp)
	}
	rootfsMu.Unlock()
	dst := tempDir(t)
	sh(t, "tar", "-C", dst, "-xpf", tarball)
	// "/" of the tree must be searchable by apt's unprivileged _apt user.
	if err := os.Chmod(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

var rootfsMu sync.Mutex

// inRoot runs a command chrooted into root.
func inRoot(root string, args ...string) (string, error) {
	cmd := exec.Command("chroot", append([]string{root}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// addRepo copies a repository into root at /srv/repo and installs its one
// .sources file exactly as published, with URIs pointed at the copy,
// replacing any other .sources file in root (see copySources).
func addRepo(t *testing.T, root, repoDir string) {
	t.Helper()
	srcs, _ := filepath.Glob(filepath.Join(repoDir, "*.sources"))
	if len(srcs) != 1 {
		t.Fatalf("want one .sources file in %s, found %v", repoDir, srcs)
	}
	copySources(t, root, repoDir, filepath.Base(srcs[0]))
}

// useSources copies the repository into root and installs one of its
// published .sources files as is (URIs pointed at the copy), replacing
// any other.
func useSources(t *testing.T, root, repoDir, name string) {
	t.Helper()
	copySources(t, root, repoDir, name)
	out, err := aptUpdate(root)
	if err != nil {
		t.Fatalf("%s: apt-get update: %v\n%s", name, err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "W:") || strings.HasPrefix(line, "E:") || strings.HasPrefix(line, "Ign:") {
			t.Errorf("%s: apt-get update said: %s", name, line)
		}
	}
}

// copySources is useSources without the apt-get update.
func copySources(t *testing.T, root, repoDir, name string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d/*.sources"))
	for _, p := range old {
		os.Remove(p)
	}
	os.RemoveAll(filepath.Join(root, "srv/repo"))
	sh(t, "cp", "-a", repoDir, filepath.Join(root, "srv/repo"))
	data, err := os.ReadFile(filepath.Join(repoDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "URIs:") {
			l = "URIs: file:///srv/repo"
		}
		lines = append(lines, l)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(root, "etc/apt/sources.list.d", name), []byte(strings.Join(lines, "\n")), 0o644))
}

// aptUpdate runs apt-get update with the date checks this machine's apt
// configuration turns off switched back on.
func aptUpdate(root string) (string, error) {
	// Forget earlier lists; apt recreates partial/ owned by _apt itself.
	old, _ := filepath.Glob(filepath.Join(root, "var/lib/apt/lists/*"))
	for _, p := range old {
		os.RemoveAll(p)
	}
	return inRoot(root, "apt-get", "-o", "Acquire::Check-Date=true", "-o", "Acquire::Check-Valid-Until=true", "update")
}

// lintian is bookworm's lintian -EvIL +pedantic on deb, failing on errors
// and warnings, with a temporary directory of the test's own: lintian
// 2.116 leaves an mldbm-elf-* database behind for each package with ELF
// files, and they piled up in /tmp.
func lintian(t *testing.T, deb string) *exec.Cmd {
	cmd := exec.Command("lintian", "-EvIL", "+pedantic", "--fail-on", "error,warning", "--tag-display-limit", "0", deb)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	return cmd
}

// lintianErrors runs bookworm's lintian -EvIL +pedantic on deb, failing on
// errors and warnings, and returns its E: and W: lines. lintian's exit
// status is checked: 1 must come with such lines, 0 without, and any
// other status (lintian itself failed) ends the test.
func lintianErrors(t *testing.T, deb string) []string {
	t.Helper()
	out, err := lintian(t, deb).CombinedOutput()
	var bad []string
	errorLines := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") {
			bad = append(bad, line)
			errorLines++
		}
		// An override lintian no longer needs is cruft a Debian developer
		// would remove (lintian reports it as information only).
		if strings.HasPrefix(line, "I: ") && (strings.Contains(line, " unused-override ") || strings.Contains(line, " mismatched-override ")) {
			bad = append(bad, line)
		}
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("lintian %s: %v", deb, err)
	}
	switch {
	case code == 1 && errorLines == 0:
		t.Fatalf("lintian %s exited 1 without an error or warning line:\n%s", deb, out)
	case code == 0 && errorLines > 0:
		t.Fatalf("lintian %s exited 0 but reported:\n%s", deb, strings.Join(bad, "\n"))
	case code != 0 && code != 1:
		t.Fatalf("lintian %s did not run (exit %d):\n%s", deb, code, out)
	}
	return bad
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func token(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeSlowSpec adds slow.yaml to specs: a script build that sleeps for
// seconds before it installs one file, so that a test can act while it
// builds (why says what for, in its description).
func writeSlowSpec(t *testing.T, specs string, seconds int, why string) {
	t.Helper()
	slow := "name: slow\nversion: 1.0.0\nsummary: a build that takes a while\ndescription: |\n  Sleeps, so that " + why + ".\nlicense: Apache-2.0\ncopyright: 2026 Nobody\n" +
		"source:\n  dir: src/scripthello\n" +
		"build:\n  kind: script\n  steps:\n    - sleep " + strconv.Itoa(seconds) + "\n    - install -D -m 0755 scripthello.sh \"$DESTDIR/usr/bin/slow\"\n" +
		"package:\n  architecture: all\n  lintian_overrides:\n    - {tag: no-manual-page, reason: A test fixture.}\n"
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "slow.yaml"), []byte(slow), 0o644))
}

// fixtureSubset is a specs dir with only the named fixture specs.
func fixtureSubset(t *testing.T, names ...string) string {
	t.Helper()
	specs := tempDir(t)
	sh(t, "cp", "-a", "testdata/specs/debforge.yaml", "testdata/specs/src", specs)
	for _, n := range names {
		sh(t, "cp", "testdata/specs/"+n+".yaml", specs)
	}
	return specs
}

// procsWith lists the pids whose command line contains s (this test's
// own processes aside).
func procsWith(s string) []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	self := fmt.Sprint(os.Getpid())
	for _, d := range dirs {
		pid := filepath.Base(d)
		if pid == self {
			continue
		}
		cmd, err := os.ReadFile(d + "/cmdline")
		if err == nil && bytes.Contains(cmd, []byte(s)) && !bytes.Contains(cmd, []byte("debforge\x00--specs")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// testRow is one line of debforge test's table.
type testRow struct{ component, target, result string }

func testRows(t *testing.T, stdout string) map[string]testRow {
	t.Helper()
	rows := map[string]testRow{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("short row %q", line)
		}
		// RESULT runs from the fourth column to SECONDS and LOG.
		rows[f[0]+"@"+f[1]] = testRow{f[0], f[1], strings.Join(f[3:len(f)-2], " ")}
	}
	return rows
}
