//go:build stack

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor/buildkit"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
)

// startBuildkitd runs a buildkitd from the stack's own upstream-buildkit
// and upstream-runc packages, as root with the OCI worker on a unix socket
// of its own: no image is pulled, the root comes from debforge. It is
// stopped, and its state removed, when the test ends. It returns the
// worker's address and a client connected to it.
func startBuildkitd(t *testing.T, debs []string) (string, *client.Client) {
	t.Helper()
	bin := tempDir(t)
	for _, name := range []string{"upstream-buildkit_", "upstream-runc_"} {
		found := false
		for _, d := range debs {
			if strings.HasPrefix(filepath.Base(d), name) {
				sh(t, "dpkg-deb", "-x", d, bin)
				found = true
			}
		}
		if !found {
			t.Fatalf("the stack build printed no %s package", strings.TrimSuffix(name, "_"))
		}
	}
	b := make([]byte, 4)
	rand.Read(b)
	dir := filepath.Join(os.TempDir(), "bk-"+hex.EncodeToString(b)) // a unix socket path must stay short
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	logf, err := os.Create(filepath.Join(tempDir(t), "buildkitd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "usr/bin/buildkitd"), "--addr", addr, "--root", filepath.Join(dir, "root"),
		"--oci-worker=true", "--containerd-worker=false", "--oci-worker-binary", filepath.Join(bin, "usr/bin/runc"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		exec.Command("umount", "-R", "-l", filepath.Join(dir, "root")).Run() // nothing to unmount when it stopped cleanly
		os.RemoveAll(dir)
		logf.Close()
	})
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.New(ctx, addr)
		if err == nil {
			ws, werr := c.ListWorkers(ctx)
			if werr == nil && len(ws) > 0 {
				t.Cleanup(func() { c.Close() })
				return addr, c
			}
			c.Close()
			err = werr
		}
		if time.Now().After(deadline) {
			logData, _ := os.ReadFile(logf.Name())
			t.Fatalf("buildkitd did not answer on %s within 60 s: %v\n%s", addr, err, lastLines(string(logData), 30))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Issue 15 step 1: one plan, run by the local sandbox and lowered to a
// BuildKit worker, sees the same world: the input copied in, the build
// uid, only loopback, a read-only root, exactly the plan's environment
// (none of buildkitd's trace variables) and a scratch dir carried from one
// command to the next. The probe writes what it saw into DESTDIR.
func TestBuildKitWorkerRunsPlanLikeSandbox(t *testing.T) {
	_, r := stack(t)
	_, c := startBuildkitd(t, stackDebs(t, r, "bookworm", "amd64"))
	root, err := (&buildroot.Store{Dir: rootsDir}).Ensure(context.Background(), buildroot.Target{Release: "bookworm", Arch: "amd64"}, nil, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid, err := sandbox.BuildIDs()
	if err != nil {
		t.Fatal(err)
	}
	probe := `id -u > "$DESTDIR/uid"
grep -o '^ *[a-z0-9]*:' /proc/net/dev | tr -d ' :' | sort > "$DESTDIR/net"
if touch /usr/probe 2>/dev/null; then echo writable > "$DESTDIR/root"; else echo read-only > "$DESTDIR/root"; fi
if touch /build/ro/x 2>/dev/null; then echo writable > "$DESTDIR/ro"; else echo read-only > "$DESTDIR/ro"; fi
env | grep -v '^PWD=' | sort > "$DESTDIR/env"
cp /build/src/input "$DESTDIR/input"
echo carried > /build/tmp/marker`
	cmds := []execx.Cmd{
		{Args: []string{"sh", "-eu", "-c", probe}, Dir: "/build/src", Env: []string{"DESTDIR=/build/stage"}},
		{Args: []string{"sh", "-eu", "-c", `cp /build/tmp/marker "$DESTDIR/marker"`}, Dir: "/build/src", Env: []string{"DESTDIR=/build/stage"}},
	}
	input := "input " + token(t) + "\n"
	run := func(t *testing.T) (work string, sb *sandbox.Sandbox) {
		work = tempDir(t)
		for _, d := range []string{"src", "stage", "tmp", "home", "ro"} {
			must(t, os.MkdirAll(filepath.Join(work, d), 0o755))
		}
		must(t, os.WriteFile(filepath.Join(work, "src", "input"), []byte(input), 0o644))
		for _, d := range []string{"src", "stage", "tmp", "home"} {
			sh(t, "chown", "-R", strings.Join([]string{strconv.Itoa(uid), strconv.Itoa(gid)}, ":"), filepath.Join(work, d))
		}
		os.Chmod(work, 0o755)
		sb = &sandbox.Sandbox{
			Root: root.FS, Env: sandbox.DefaultEnv, UID: uid, GID: gid,
			Binds: []sandbox.Bind{
				{Host: filepath.Join(work, "src"), Path: "/build/src", Write: true},
				{Host: filepath.Join(work, "stage"), Path: "/build/stage", Write: true},
				{Host: filepath.Join(work, "tmp"), Path: "/build/tmp", Write: true},
				{Host: filepath.Join(work, "home"), Path: "/build/home", Write: true},
				{Host: filepath.Join(work, "ro"), Path: "/build/ro"},
			},
		}
		return work, sb
	}

	local, sb := run(t)
	for _, cmd := range cmds {
		var out strings.Builder
		if err := sb.Run(context.Background(), cmd, &out); err != nil {
			t.Fatalf("sandbox: %v\n%s", err, out.String())
		}
	}
	_, sb2 := run(t)
	plan := buildkit.Plan{Name: "probe", Sandbox: sb2, RootTar: root.Tarball, RootKey: root.Key, Arch: "amd64", Cmds: cmds, Export: "/build/stage"}
	var times []time.Duration
	var out string
	for i := 0; i < 2; i++ { // cold, then fully cached
		got := tempDir(t)
		var log strings.Builder
		start := time.Now()
		if err := buildkit.Solve(context.Background(), c, plan, got, &log); err != nil {
			t.Fatalf("buildkit: %v\n%s", err, lastLines(log.String(), 40))
		}
		times = append(times, time.Since(start))
		out = got
	}
	t.Logf("buildkit solve of the probe plan: %v cold (root tarball sent and unpacked), %v cached", times[0].Round(time.Millisecond), times[1].Round(time.Millisecond))

	for _, f := range []string{"uid", "net", "root", "ro", "env", "input", "marker"} {
		want := string(mustRead(t, filepath.Join(local, "stage", f)))
		got := string(mustRead(t, filepath.Join(out, f)))
		if got != want {
			t.Errorf("%s: buildkit saw %q, the sandbox %q", f, got, want)
		}
	}
	// And the sandbox itself saw what the issue asks for.
	stage := func(f string) string { return string(mustRead(t, filepath.Join(local, "stage", f))) }
	for f, want := range map[string]string{"uid": strconv.Itoa(uid) + "\n", "net": "lo\n", "root": "read-only\n", "ro": "read-only\n", "input": input, "marker": "carried\n"} {
		if got := stage(f); got != want {
			t.Errorf("the sandbox's %s is %q, want %q", f, got, want)
		}
	}
	if env := stage("env"); strings.Contains(env, "TRACEPARENT") || strings.Contains(env, "OTEL_") || !strings.Contains(env, "DESTDIR=/build/stage\n") {
		t.Errorf("environment:\n%s", env)
	}
}

// Issue 15 item 4: the fixtures built on a BuildKit worker, from a fresh
// debforge cache, are byte-identical to the local sandbox's packages, and
// their logs show that the worker ran them.
func TestBuildKitPackagesMatchSandbox(t *testing.T) {
	fx, local := fixtures(t)
	_, r := stack(t)
	addr, _ := startBuildkitd(t, stackDebs(t, r, "bookworm", "amd64"))
	dir := tempDir(t)
	e := env{specs: fx.specs, out: filepath.Join(dir, "out"), cache: filepath.Join(dir, "cache"), key: fx.key}
	start := time.Now()
	res := e.run(t, "build", "all", "--buildkit-addr", addr)
	if res.code != 0 {
		t.Fatalf("build on %s: exit %d\n%s", addr, res.code, lastLines(res.stderr, 40))
	}
	t.Logf("fixtures on one BuildKit worker, fresh debforge cache: %v", time.Since(start).Round(time.Millisecond))
	want := map[string]string{}
	for _, p := range strings.Fields(local.stdout) {
		if !strings.HasSuffix(p, ".deb") {
			continue
		}
		want[filepath.Base(p)] = sha256File(t, p)
	}
	got := 0
	for _, p := range strings.Fields(res.stdout) {
		if !strings.HasSuffix(p, ".deb") {
			continue
		}
		name := filepath.Base(p)
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("%s was built on the worker but not by the sandbox", name)
		case sha256File(t, p) != w:
			t.Errorf("%s differs between the worker and the sandbox", name)
		}
		got++
	}
	if got != len(want) {
		t.Errorf("the worker built %d packages, the sandbox %d", got, len(want))
	}
	for _, name := range []string{"hello-go", "hello-make", "hello-autotools", "hello-script"} {
		if log := string(mustRead(t, filepath.Join(e.cache, "logs", name+".log"))); !strings.Contains(log, "+ [buildkit "+addr+"]") {
			t.Errorf("%s's log does not show the worker's commands:\n%s", name, lastLines(log, 20))
		}
	}
}

// A worker that is not there stops the build before anything is made:
// one error naming it, the fix, exit 1, out/ untouched.
func TestBuildKitUnreachableWorker(t *testing.T) {
	e := newEnv(t, fixtureSubset(t, "hello-script"))
	addr := "unix://" + filepath.Join(tempDir(t), "none.sock")
	res := e.run(t, "build", "all", "--buildkit-addr", addr)
	if res.code != 1 || !strings.Contains(res.stderr, "buildkit worker "+addr+": ") || !strings.Contains(res.stderr, "hint: start buildkitd there") {
		t.Errorf("exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(e.out); err == nil {
		t.Error("out/ was created")
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	sum := sha256.Sum256(mustRead(t, p))
	return hex.EncodeToString(sum[:])
}
