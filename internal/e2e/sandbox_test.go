//go:build integration

package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/testutil"
)

// hostileAttack is one step of the hostile build: a command that must
// fail inside the sandbox, for one of the reasons the sandbox gives (its
// stderr says which), not because a tool or path it needs is missing.
type hostileAttack struct {
	name, cmd string
	reasons   []string
}

// hostileAttacks are the attempts of the reproduction. hostFiles
// are paths on the host no build may create, key the signing key no
// build may read, port the host listener no build may reach.
func hostileAttacks(hostFiles []string, key string, port int) []hostileAttack {
	tcp := fmt.Sprintf("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'", port)
	return []hostileAttack{
		// "Works" inside: /tmp there is the sandbox's own tmpfs. What
		// counts is that nothing reaches the host's /tmp (checked after).
		{"write-host-tmp", "echo x > " + hostFiles[0], nil},
		{"write-root-home", "echo x > " + hostFiles[1], []string{"Permission denied", "Read-only file system"}},
		{"write-var-tmp", "echo x > " + hostFiles[2], []string{"Read-only file system"}},
		// The key is not there at all: the host's /tmp is not the sandbox's.
		{"read-signing-key", "cat " + key + " > \"$WORK/key\" && test -s \"$WORK/key\"", []string{key + ": No such file or directory"}},
		{"read-shadow", "cat /etc/shadow > \"$WORK/shadow\" && grep -q root \"$WORK/shadow\"", []string{"/etc/shadow: Permission denied"}},
		// Steps run under the root's sh, dash, which has no /dev/tcp: the
		// attempt goes through bash (Essential in every root).
		{"tcp-to-host", tcp, []string{fmt.Sprintf("/dev/tcp/127.0.0.1/%d: Connection refused", port), "Network is unreachable"}},
		{"mount", "mkdir -p \"$WORK/m\" && mount -t tmpfs none \"$WORK/m\"", []string{"must be superuser", "Operation not permitted"}},
		{"chown-root", "touch \"$WORK/f\" && chown 0:0 \"$WORK/f\"", []string{"Invalid argument", "Operation not permitted"}},
		{"apt-get-install", "apt-get install -y hello", []string{"are you root?"}},
		{"write-root-fs", "touch /usr/bin/debforge-escape", []string{"Read-only file system"}},
	}
}

// hostileSpec is the hostile build's spec: one step per attack, each
// allowed to fail without stopping the build and recording "ESCAPED" or
// "denied" with its stderr beside it (NAME.err); then a link to a host
// secret in DESTDIR (packaging must keep it a link), a process left
// behind to act after the build (the PID namespace must end it), and the
// probe process whose host uid the test reads.
func hostileSpec(attacks []hostileAttack, lateFile, probe string) string {
	steps := []string{`    - mkdir -p "$DESTDIR/usr/share/hostile"`}
	for _, a := range attacks {
		steps = append(steps, fmt.Sprintf(`    - if ( %s ) >/dev/null 2>"$DESTDIR/usr/share/hostile/%s.err"; then echo ESCAPED; else echo denied; fi > "$DESTDIR/usr/share/hostile/%s"`, a.cmd, a.name, a.name))
	}
	steps = append(steps,
		`    - mkdir -p "$DESTDIR/usr/share/hostile" && ln -s /etc/shadow "$DESTDIR/usr/share/hostile/shadow-link"`,
		`    - (sleep 5; echo late > `+lateFile+`) >/dev/null 2>&1 &`,
		`    - bash -c "exec -a `+probe+` sleep 2"`,
		`    - install -D -m 0755 "$SRC/scripthello.sh" "$DESTDIR/usr/bin/hostile"`)
	return `name: hostile
version: 1.0.0
summary: a build that tries to break out of its sandbox
description: |
  Test fixture.
license: Apache-2.0
copyright: 2026 The debforge authors
source:
  dir: src/scripthello
build:
  kind: script
  steps:
` + strings.Join(steps, "\n") + `
package:
  architecture: all
`
}

// hostListener listens on the host's 127.0.0.1 and counts connections.
// The control: the same bash /dev/tcp command the build tries reaches it
// from the host; it returns the port and the count after the control.
func hostListener(t *testing.T) (port int, conns *atomic.Int32, hostConns int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	port = ln.Addr().(*net.TCPAddr).Port
	tcp := fmt.Sprintf("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'", port)
	if out, err := exec.Command("sh", "-c", tcp).CombinedOutput(); err != nil {
		t.Fatalf("control: %s on the host: %v\n%s", tcp, err, out)
	}
	for deadline := time.Now().Add(5 * time.Second); conns.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if hostConns = conns.Load(); hostConns == 0 {
		t.Fatalf("control: %s on the host did not reach the listener", tcp)
	}
	return port, conns, hostConns
}

// probeWatch watches the host's /proc for the probe process while the
// build runs: its real uid there is the host uid the build runs as. As
// root, a host process of the shared "nobody" account attacks the build
// from outside once: it signals the probe and writes into the build's
// source copy and Go build cache. Builds run as their own system user,
// so all of it must fail.
type probeWatch struct {
	mu       sync.Mutex
	uids     []string
	outsider []string // what the nobody process managed
	attacked bool
	stop     chan struct{}
	done     chan struct{}
}

func watchProbe(probe, tok, cache string) *probeWatch {
	w := &probeWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for _, pid := range procsWith(probe) {
				if os.Geteuid() == 0 && !w.attacked {
					w.attacked = true
					w.outsider = attackAsNobody(pid, tok, cache)
				}
				if st, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
					for _, l := range strings.Split(string(st), "\n") {
						if strings.HasPrefix(l, "Uid:") {
							w.mu.Lock()
							w.uids = append(w.uids, strings.Fields(l)[1])
							w.mu.Unlock()
						}
					}
				}
			}
		}
	}()
	return w
}

// end stops watching and waits for the watcher.
func (w *probeWatch) end() {
	close(w.stop)
	<-w.done
}

// attackAsNobody is the outside attack of probeWatch; it returns what
// succeeded.
func attackAsNobody(pid, tok, cache string) []string {
	asNobody := func(args ...string) error {
		return exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--"}, args...)...).Run()
	}
	var done []string
	if err := asNobody("kill", "-0", pid); err == nil {
		done = append(done, "signalled the build's process "+pid)
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "work", "hostile-*", "src"))
	more, _ := filepath.Glob(filepath.Join(cache, "go", "build-*"))
	if len(dirs) == 0 || len(more) == 0 {
		done = append(done, fmt.Sprintf("found no build dirs to attack (src %v, go build cache %v)", dirs, more))
	}
	for _, d := range append(dirs, more...) {
		f := filepath.Join(d, "tampered-"+tok)
		if err := asNobody("sh", "-c", "echo x > "+f); err == nil {
			done = append(done, "wrote "+f)
		}
	}
	return done
}

// hostileResults reads what each attack recorded from the package, and
// fails the test if the package carries a host secret or the link to
// /etc/shadow became its content.
func hostileResults(t *testing.T, deb string) map[string]string {
	t.Helper()
	f, err := os.Open(deb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkg, err := debfile.Read(f, debfile.Options{Data: true, Bodies: true})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]string{}
	for _, en := range pkg.Data {
		name := strings.TrimPrefix(en.Name, "./")
		if dir, base := filepath.Split(name); dir == "usr/share/hostile/" {
			results[base] = strings.TrimSpace(string(en.Body))
			if base == "shadow-link" && (en.Linkname != "/etc/shadow" || len(en.Body) > 0) {
				t.Errorf("shadow-link was packaged as content, not as a link (%q, %d bytes)", en.Linkname, len(en.Body))
			}
		}
		if bytes.Contains(en.Body, []byte("PRIVATE KEY")) || bytes.Contains(en.Body, []byte("root:")) {
			t.Errorf("%s carries a host secret", en.Name)
		}
	}
	return results
}

// A script build attacks the host the way the reproduction did,
// one attempt per step (a subtest each), each allowed to fail without
// stopping the build. Every attempt must fail inside the sandbox for the
// sandbox's reason, nothing may appear on the host, the listener on the
// host's 127.0.0.1 must get no connection, the build must run as an
// unprivileged host uid that a host process of "nobody" cannot touch, no
// process of it may outlive it, and the package must still build.
func TestSandboxContainsHostileBuild(t *testing.T) {
	good, _ := fixtures(t) // for a real signing key file to go after
	tok := token(t)
	hostFiles := []string{"/tmp/debforge-escape-" + tok, "/root/debforge-escape-" + tok, "/var/tmp/debforge-escape-" + tok}
	for _, f := range hostFiles {
		t.Cleanup(func() { os.Remove(f) })
	}
	port, conns, hostConns := hostListener(t)
	probe := "debforge-uidprobe-" + tok
	attacks := hostileAttacks(hostFiles, good.key, port)
	specs := tempDir(t)
	sh(t, "cp", "-a", "testdata/specs/debforge.yaml", "testdata/specs/src", specs)
	if err := os.WriteFile(filepath.Join(specs, "hostile.yaml"), []byte(hostileSpec(attacks, hostFiles[0], probe)), 0o644); err != nil {
		t.Fatal(err)
	}
	e := env{specs: specs, out: filepath.Join(tempDir(t), "out"), cache: tempDir(t), key: good.key}
	w := watchProbe(probe, tok, e.cache)
	r := e.run(t, "build", "hostile")
	w.end()
	if r.code != 0 {
		t.Fatalf("the hostile package did not build (exit %d):\n%s", r.code, r.stderr)
	}
	results := hostileResults(t, strings.TrimSpace(r.stdout))
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			if a.reasons == nil {
				if results[a.name] == "" {
					t.Error("the step did not run")
				}
				return
			}
			if got := results[a.name]; got != "denied" {
				t.Errorf("%q, want denied", got)
			}
			why := results[a.name+".err"]
			ok := slices.ContainsFunc(a.reasons, func(w string) bool { return strings.Contains(why, w) }) &&
				!strings.Contains(why, "not found") && !strings.Contains(why, "Directory nonexistent")
			if !ok {
				t.Errorf("denied for the wrong reason: stderr %q, want one of %q", why, a.reasons)
			}
		})
	}
	t.Run("nothing reaches the host", func(t *testing.T) {
		// The left-behind process (its command line names a host file,
		// so it carries tok) still has seconds to sleep when the build
		// ends: gone now, it can write nothing later.
		if left := procsWith(tok); len(left) > 0 {
			t.Errorf("build processes outlived the build: %v", left)
		}
		for _, f := range hostFiles {
			if _, err := os.Lstat(f); err == nil {
				t.Errorf("%s appeared on the host", f)
			}
		}
		if n := conns.Load() - hostConns; n != 0 {
			t.Errorf("the host listener got %d connections from the build", n)
		}
	})
	t.Run("runs as the build user, out of nobody's reach", func(t *testing.T) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.uids) == 0 {
			t.Fatal("never saw the probe process in /proc")
		}
		if os.Geteuid() != 0 {
			return
		}
		bu, err := user.Lookup("_debforge-build")
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range w.uids {
			if u != bu.Uid {
				t.Errorf("build ran as host uid %s, want the build user's %s", u, bu.Uid)
			}
		}
		if !w.attacked {
			t.Error("the nobody process never attacked the build")
		}
		for _, o := range w.outsider {
			t.Errorf("a host process running as nobody %s", o)
		}
	})
}

// A release debootstrap does not know stops before anything is made:
// exit 2, one error with the fix, out/ untouched — as a build target in
// debforge.yaml and as the target of 'root update'.
func TestUnknownTargetRelease(t *testing.T) {
	specs := fixtureSubset(t, "hello-script")
	e := newEnv(t, specs)
	r := e.run(t, "root", "update", "nosuchrelease/amd64")
	if r.code != 2 {
		t.Fatalf("root update: exit %d, want 2\n%s", r.code, r.stderr)
	}
	for _, want := range []string{`unknown Debian release "nosuchrelease"`, "debforge: hint: use a codename debforge knows (bookworm, forky, noble, resolute, trixie) or debootstrap does"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	yaml := filepath.Join(specs, "debforge.yaml")
	testutil.Must(t, os.WriteFile(yaml, append(mustRead(t, yaml), []byte("targets: [nosuchrelease/amd64]\n")...), 0o644))
	r = e.run(t, "build", "all")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown release "nosuchrelease"`) {
		t.Errorf("build: exit %d, want 2 naming the release\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(e.out); err == nil {
		t.Error("out/ was created")
	}
}

// With user namespaces disabled the sandbox cannot start: the build stops
// with the sysctl that fixes it, exit 1, and out/ stays as it was.
//
// These machines refuse writes to user.max_user_namespaces in the initial
// namespace, so the test sets the same limit to 0 inside a user namespace
// it makes for debforge (uids and gids mapped one to one, so debforge is
// still root there); the kernel applies it to everything below.
func TestUserNamespacesDisabled(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("DEBFORGE_REQUIRE_TOOLS") == "1" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	e := newEnv(t, fixtureSubset(t, "hello-script"))
	args := []string{"--specs", e.specs, "--out", e.out, "--cache-dir", e.cache, "--signing-key", e.key, "build", "all"}
	cmd := exec.Command("sh", append([]string{"-c", `echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"`, debforgeBin}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	for _, want := range []string{"cannot create the build sandbox", "debforge: hint: enable unprivileged user namespaces: sysctl -w user.max_user_namespaces="} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if _, err := os.Stat(e.out); err == nil {
		t.Error("out/ was created")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// privateRoots is an empty roots dir sharing only the Go toolchains, for
// tests that damage or change roots (never the shared ones).
func privateRoots(t *testing.T) string {
	t.Helper()
	dir := tempDir(t)
	sh(t, "ln", "-s", filepath.Join(rootsDir, "toolchains"), filepath.Join(dir, "toolchains"))
	return dir
}

// A root tarball that fails its recorded sha256 stops the whole run with
// the fix, exit 1, and nothing in out/ changes: not even a component whose
// own root (a different one, healthy and unpacked) could build.
func TestCorruptRootTarball(t *testing.T) {
	specs := fixtureSubset(t, "hello-script", "hello-make")
	warm := newEnv(t, specs)
	if r := warm.run(t, "build", "all"); r.code != 0 { // makes sure the shared roots exist
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	roots := privateRoots(t)
	base := filepath.Join(rootsDir, "bookworm-amd64", "base")
	mine := filepath.Join(roots, "bookworm-amd64", "base")
	sh(t, "mkdir", "-p", mine)
	sh(t, "cp", filepath.Join(base, "meta.json"), filepath.Join(base, "root.tar"), mine)
	// hello-make's root ([gcc make]), whole and healthy: a hard-linked copy.
	makeRoot := ""
	metas, _ := filepath.Glob(filepath.Join(rootsDir, "bookworm-amd64", "*", "meta.json"))
	for _, m := range metas {
		if body := string(mustRead(t, m)); strings.Contains(body, `"make"`) && !strings.Contains(body, `"autoconf"`) && fileExists(filepath.Join(filepath.Dir(m), "rootfs")) {
			makeRoot = filepath.Dir(m)
		}
	}
	if makeRoot == "" {
		t.Fatal("no unpacked [gcc make] root in " + rootsDir)
	}
	sh(t, "cp", "-al", makeRoot, filepath.Join(roots, "bookworm-amd64", filepath.Base(makeRoot)))
	tarball := filepath.Join(mine, "root.tar")
	fh, err := os.OpenFile(tarball, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteAt([]byte("debforge was here"), 1<<20)
	fh.Close()
	// out/ holds hello-script only, so hello-make (healthy root) would
	// add to it if the run went on.
	e := newEnv(t, specs)
	if r := e.run(t, "build", "hello-script"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	before := treeHash(t, e.out)
	r := e.run(t, "--roots-dir", roots, "build", "all")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{tarball + " fails its recorded sha256", "debforge: hint: the cached root is damaged or was altered; make it again with: debforge root update bookworm/amd64"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if n := strings.Count(r.stderr, "fails its recorded sha256"); n != 1 {
		t.Errorf("the damaged root is reported %d times, want once:\n%s", n, r.stderr)
	}
	if treeHash(t, e.out) != before {
		t.Error("out/ changed")
	}
}

// The cache key follows the root: the same roots rebuild nothing; adding
// a package to one root rebuilds exactly the component built in it.
func TestCacheKeyFollowsRoot(t *testing.T) {
	specs := fixtureSubset(t, "hello-script", "hello-make")
	warm := newEnv(t, specs)
	if r := warm.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	roots := privateRoots(t)
	// A hard-linked copy of the shared roots: cheap, and dpkg replaces
	// the files it changes rather than writing into them; the dpkg
	// database is copied outright so the shared one is never touched.
	sh(t, "cp", "-al", filepath.Join(rootsDir, "bookworm-amd64"), filepath.Join(roots, "bookworm-amd64"))
	e := env{specs: specs, out: filepath.Join(tempDir(t), "out"), cache: tempDir(t), key: warm.key}
	first := e.run(t, "--roots-dir", roots, "build", "all")
	if first.code != 0 {
		t.Fatalf("exit %d\n%s", first.code, first.stderr)
	}
	again := e.run(t, "--roots-dir", roots, "build", "all")
	if again.code != 0 || strings.Count(again.stderr, " hit ") != 2 {
		t.Fatalf("same roots: want 2 cache hits (exit %d)\n%s", again.code, again.stderr)
	}
	// Find hello-make's root ([gcc make]) by its record and install one
	// more package into it with dpkg.
	var makeRoot string
	metas, _ := filepath.Glob(filepath.Join(roots, "bookworm-amd64", "*", "meta.json"))
	for _, m := range metas {
		if strings.Contains(string(mustRead(t, m)), `"make"`) && !strings.Contains(string(mustRead(t, m)), `"autoconf"`) {
			makeRoot = filepath.Join(filepath.Dir(m), "rootfs")
		}
	}
	if makeRoot == "" {
		t.Fatal("no [gcc make] root")
	}
	dpkgDir := filepath.Join(makeRoot, "var", "lib", "dpkg")
	sh(t, "rm", "-rf", dpkgDir+".new")
	sh(t, "cp", "-a", dpkgDir, dpkgDir+".new")
	sh(t, "rm", "-rf", dpkgDir)
	sh(t, "mv", dpkgDir+".new", dpkgDir)
	var scriptDeb string
	for _, p := range strings.Fields(first.stdout) {
		if strings.Contains(p, "hello-script_") {
			scriptDeb = p
		}
	}
	sh(t, "dpkg", "--root="+makeRoot, "-i", scriptDeb)
	after := e.run(t, "--roots-dir", roots, "build", "all")
	if after.code != 0 {
		t.Fatalf("exit %d\n%s", after.code, after.stderr)
	}
	want := map[string]string{"hello-make": "miss", "hello-script": "hit"}
	seen := map[string]bool{}
	for _, l := range strings.Split(after.stderr, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || want[f[0]] == "" {
			continue
		}
		seen[f[0]] = true
		if f[2] != want[f[0]] {
			t.Errorf("%s after its root changed: %s, want %s", f[0], f[2], want[f[0]])
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no summary row for %s after its root changed:\n%s", name, after.stderr)
		}
	}
}

// Every published .deb has a .buildinfo beside it that carries its
// checksum, names its build root's packages, and describes the .deb and
// its build (checkBuildInfoFields).
func TestBuildInfoBesideEveryDeb(t *testing.T) {
	_, r := fixtures(t)
	debs := strings.Fields(r.stdout)
	if len(debs) == 0 {
		t.Fatal("no packages")
	}
	for _, deb := range debs {
		bi, err := os.ReadFile(strings.TrimSuffix(deb, ".deb") + ".buildinfo")
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(deb), err)
			continue
		}
		text := string(bi)
		sum := sha256sum(t, deb)
		want := []string{"Format: 1.0\n", "Checksums-Sha256:\n " + sum + " ", "Build-Architecture: ", "Installed-Build-Depends:\n", "Build-Date: "}
		if !strings.Contains(deb, "hello-meta") { // a meta-package is built in no root
			want = append(want, " dpkg (= ", " libc6 (= ", "X-Debforge-Root-Key: ")
		}
		for _, want := range want {
			if !strings.Contains(text, want) {
				t.Errorf("%s.buildinfo lacks %q:\n%s", filepath.Base(deb), want, testutil.LastLines(text, 20))
			}
		}
		if strings.Contains(deb, "hello-autotools") && !strings.Contains(text, " automake (= ") {
			t.Errorf("hello-autotools.buildinfo does not name automake from its root")
		}
		checkBuildInfoFields(t, deb, text)
	}
}

// checkBuildInfoFields: the .buildinfo names the .deb's own source,
// binary, architecture and version, the build's environment (none for a
// meta-package, which runs nothing), and a Build-Date that is
// SOURCE_DATE_EPOCH, as the packaged files' mtimes are.
func checkBuildInfoFields(t *testing.T, deb, text string) {
	t.Helper()
	name := filepath.Base(deb)
	pkg, err := debfile.ReadFile(deb, debfile.Options{Data: true})
	if err != nil {
		t.Fatal(err)
	}
	bi := map[string]string{}
	for _, f := range debfile.ParseFields([]byte(text)) {
		bi[f.Name] = f.Value
	}
	source := pkg.Get("Source")
	if source == "" {
		source = pkg.Get("Package")
	}
	for field, want := range map[string]string{"Source": source, "Binary": pkg.Get("Package"),
		"Architecture": pkg.Get("Architecture"), "Version": pkg.Get("Version")} {
		if bi[field] != want || want == "" {
			t.Errorf("%s: .buildinfo %s %q, the .deb says %q", name, field, bi[field], want)
		}
	}
	date, err := time.Parse(time.RFC1123Z, bi["Build-Date"])
	if err != nil {
		t.Errorf("%s: Build-Date: %v", name, err)
	}
	for _, en := range pkg.Data {
		if en.ModTime != date.Unix() {
			t.Errorf("%s: %s has mtime %d, Build-Date is %d", name, en.Name, en.ModTime, date.Unix())
			break
		}
	}
	env := map[string]string{}
	for _, l := range strings.Split(bi["Environment"], "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			uq, err := strconv.Unquote(v)
			if err != nil {
				t.Errorf("%s: Environment line %q is not KEY=\"VALUE\"", name, l)
			}
			env[k] = uq
		}
	}
	if strings.Contains(deb, "hello-meta") {
		if len(env) > 0 {
			t.Errorf("%s: a meta-package ran nothing, yet has an Environment %v", name, env)
		}
		return
	}
	for k, want := range map[string]string{"SOURCE_DATE_EPOCH": strconv.FormatInt(date.Unix(), 10), "HOME": "/build/home",
		"TZ": "UTC", "GOPROXY": "off", "GOCACHE": "/build/go/build"} {
		if env[k] != want {
			t.Errorf("%s: Environment %s=%q, want %q (SOURCE_DATE_EPOCH: the Build-Date)", name, k, env[k], want)
		}
	}
	if !strings.HasPrefix(env["PATH"], "/usr/local/go/bin:") {
		t.Errorf("%s: Environment PATH=%q, want the sandbox's", name, env["PATH"])
	}
}

func sha256sum(t *testing.T, p string) string {
	t.Helper()
	out := sh(t, "sha256sum", p)
	return strings.Fields(out)[0]
}

// A rebuild in a changed root that gives other bytes keeps its version,
// so the pool refuses it: exit 1, the cause and the exact fix (the next
// revision) as the hint, and nothing in out/ changes. (debforge has no
// automatic binNMU-style suffix; README "How builds are isolated" says
// what the admin does.)
func TestRebuildInChangedRootRefused(t *testing.T) {
	specs := fixtureSubset(t)
	// Its package records the root's package set, so a changed root
	// changes its bytes (as a library update changes a linked binary).
	spec := `name: root-echo
version: 1.0.0
summary: fixture whose contents follow its build root
description: |
  Lists the packages of the root it was built in.
license: Apache-2.0
copyright: 2026 The debforge authors
source:
  dir: src/scripthello
build:
  kind: script
  steps:
    - mkdir -p "$DESTDIR/usr/share/root-echo"
    - dpkg-query -W -f '${Package}=${Version}\n' > "$DESTDIR/usr/share/root-echo/packages"
package:
  architecture: all
  section: utils
`
	if err := os.WriteFile(filepath.Join(specs, "root-echo.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, specs)
	first := e.run(t, "build", "all")
	if first.code != 0 {
		t.Fatalf("exit %d\n%s", first.code, first.stderr)
	}
	// A private copy of the base root with one more package in it
	// (root-echo's own: any package will do).
	roots := privateRoots(t)
	sh(t, "mkdir", "-p", filepath.Join(roots, "bookworm-amd64"))
	sh(t, "cp", "-al", filepath.Join(rootsDir, "bookworm-amd64", "base"), filepath.Join(roots, "bookworm-amd64", "base"))
	fsDir := filepath.Join(roots, "bookworm-amd64", "base", "rootfs")
	dpkgDir := filepath.Join(fsDir, "var", "lib", "dpkg")
	sh(t, "cp", "-a", dpkgDir, dpkgDir+".new")
	sh(t, "rm", "-rf", dpkgDir)
	sh(t, "mv", dpkgDir+".new", dpkgDir)
	var deb string
	for _, p := range strings.Fields(first.stdout) {
		if strings.Contains(p, "root-echo_") {
			deb = p
		}
	}
	if deb == "" {
		t.Fatalf("no root-echo .deb in the output:\n%s", first.stdout)
	}
	sh(t, "dpkg", "--root="+fsDir, "-i", deb)
	before := treeHash(t, e.out)
	marker := filepath.Join(tempDir(t), "marker")
	sh(t, "touch", marker)
	r := e.run(t, "--roots-dir", roots, "build", "all")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"root-echo_1.0.0-1_all.deb is already published with other contents",
		"the same version was built again with other bytes (its build root",
		`debforge: hint: set revision: "2" in ` + filepath.Join(specs, "root-echo.yaml") + ` (now "1") and build again; the rebuilt package then publishes as 1.0.0-2 beside 1.0.0-1`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if treeHash(t, e.out) != before {
		out, _ := exec.Command("find", e.out, "-newer", marker).CombinedOutput()
		t.Errorf("out/ changed; written since the first build:\n%s", out)
	}
}
