//go:build stack

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/executor"

	controlapi "github.com/moby/buildkit/api/services/control"
	workertypes "github.com/moby/buildkit/api/types"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"
	"google.golang.org/grpc"

	"github.com/debforge/debforge/internal/buildkitd"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor/buildkit"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/testutil"
)

// buildkitBin unpacks the stack's own upstream-buildkit and upstream-runc
// packages once per test and returns the directory they are in.
func buildkitBin(t *testing.T) string {
	t.Helper()
	_, r := stack(t)
	debs := stackDebs(t, r, "bookworm", "amd64")
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
	return bin
}

// buildkitds are the running daemons by address, for killBuildkitd.
var (
	buildkitdsMu sync.Mutex
	buildkitds   = map[string]*buildkitd.Daemon{}
)

// killBuildkitd kills the daemon at addr at once, as a crashed or
// unplugged worker goes.
func killBuildkitd(t *testing.T, addr string) {
	t.Helper()
	buildkitdsMu.Lock()
	d := buildkitds[addr]
	buildkitdsMu.Unlock()
	if d == nil {
		t.Fatalf("no buildkitd at %s", addr)
	}
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
}

// startBuildkitd runs buildkitd from bin (see package buildkitd) on a
// unix socket of its own, or on tcp with the given TLS flags, and stops
// it, removing its state, when the test ends. It returns the address.
func startBuildkitd(t *testing.T, bin string, tcp string, tlsArgs ...string) string {
	t.Helper()
	d, err := buildkitd.Start(bin, filepath.Join(tempDir(t), "buildkitd.log"), tcp, tlsArgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	buildkitdsMu.Lock()
	buildkitds[d.Addr] = d
	buildkitdsMu.Unlock()
	return d.Addr
}

// Issue 15 step 1: one plan, run by the local sandbox and lowered to a
// BuildKit worker, sees the same world: the input copied in, the build
// uid, only loopback, a read-only root, exactly the plan's environment
// (none of buildkitd's trace variables) and a scratch dir carried from one
// command to the next. The probe writes what it saw into DESTDIR.
func TestBuildKitWorkerRunsPlanLikeSandbox(t *testing.T) { probeOnWorker(t, buildkitBin(t)) }

func probeOnWorker(t *testing.T, bin string) {
	addr := startBuildkitd(t, bin, "")
	c, err := client.New(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
if touch /build/shlibs/x 2>/dev/null; then echo writable > "$DESTDIR/ro"; else echo read-only > "$DESTDIR/ro"; fi
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
			testutil.Must(t, os.MkdirAll(filepath.Join(work, d), 0o755))
		}
		testutil.Must(t, os.WriteFile(filepath.Join(work, "src", "input"), []byte(input), 0o644))
		for _, d := range []string{"src", "stage", "tmp", "home"} {
			sh(t, "chown", "-R", strings.Join([]string{strconv.Itoa(uid), strconv.Itoa(gid)}, ":"), filepath.Join(work, d))
		}
		testutil.Must(t, os.Chmod(work, 0o755))
		sb = &sandbox.Sandbox{Job: executor.Job{
			Root: root.FS, Env: sandbox.DefaultEnv, UID: uid, GID: gid,
			Binds: []executor.Bind{
				{Host: filepath.Join(work, "src"), Path: "/build/src", Write: true},
				{Host: filepath.Join(work, "stage"), Path: "/build/stage", Write: true},
				{Host: filepath.Join(work, "tmp"), Path: "/build/tmp", Write: true},
				{Host: filepath.Join(work, "home"), Path: "/build/home", Write: true},
				{Host: filepath.Join(work, "ro"), Path: "/build/shlibs"},
			},
		}}
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
	plan := buildkit.Plan{Name: "probe", Job: &sb2.Job, RootTar: root.Tarball, RootSHA256: root.TarSHA256, RootKey: root.Key, GoCache: "build-probe-" + root.Key[:16], Arch: "amd64", Cmds: cmds, Export: "/build/stage"}
	var times []time.Duration
	var out string
	for i := 0; i < 2; i++ { // cold, then fully cached
		got := tempDir(t)
		var log strings.Builder
		start := time.Now()
		if err := buildkit.Solve(context.Background(), c, plan, got, buildkit.Cache{}, &log); err != nil {
			t.Fatalf("buildkit: %v\n%s", err, testutil.LastLines(log.String(), 40))
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

// Issue 15 items 2 and 4: the fixtures and two stack components (runc,
// cgo against libseccomp; rootlesskit, pure Go with help2man pages)
// built on two BuildKit workers are byte-identical to the local
// sandbox's packages; both workers ran builds, the summary table names
// them, and the logs show the worker's commands.
func TestBuildKitPackagesMatchSandbox(t *testing.T) { packagesMatch(t, buildkitBin(t)) }

func packagesMatch(t *testing.T, bin string) {
	fx, local := fixtures(t)
	a, b := startBuildkitd(t, bin, ""), startBuildkitd(t, bin, "")
	dir := tempDir(t)
	e := env{specs: fx.specs, out: filepath.Join(dir, "out"), cache: filepath.Join(dir, "cache"), key: fx.key}
	start := time.Now()
	res := e.run(t, "build", "all", "--buildkit-addr", a, "--buildkit-addr", b)
	if res.code != 0 {
		t.Fatalf("build on %s and %s: exit %d\n%s", a, b, res.code, testutil.LastLines(res.stderr, 40))
	}
	t.Logf("fixtures on two BuildKit workers, fresh debforge cache: %v", time.Since(start).Round(time.Millisecond))
	sameDebs(t, local.stdout, res.stdout, func(string) bool { return true })
	ran := workersInSummary(t, res.stderr)
	if ran[a] == 0 || ran[b] == 0 {
		t.Errorf("both workers should have built something; the summary table says %v:\n%s", ran, res.stderr)
	}
	for _, name := range []string{"hello-go", "hello-make", "hello-autotools", "hello-script"} {
		if log := string(mustRead(t, filepath.Join(e.cache, "logs", name+".log"))); !strings.Contains(log, "+ [buildkit "+a+"]") && !strings.Contains(log, "+ [buildkit "+b+"]") {
			t.Errorf("%s's log does not show a worker's commands:\n%s", name, testutil.LastLines(log, 20))
		}
	}

	st, stackRes := stack(t)
	stackMatch(t, a, b, st, stackRes.stdout, filepath.Join(dir, "out-stack"))
}

// stackMatch rebuilds runc and rootlesskit for bookworm/amd64 on workers
// a and b from the stack build's own cache (its sources, modules and
// roots; --rebuild skips its packages and shared compiles) into a new
// repository, out, and compares them with the packages the stack build
// printed (want).
func stackMatch(t *testing.T, a, b string, st env, want, out string) {
	t.Helper()
	args := []string{"--specs", st.specs, "--out", out, "--signing-key", st.key}
	if c := os.Getenv("DEBFORGE_CACHE_DIR"); c != "" {
		args = append(args, "--cache-dir", c)
	}
	start := time.Now()
	res := debforge(t, append(args, "build", "runc", "rootlesskit", "--target", "bookworm/amd64", "--rebuild", "runc,rootlesskit",
		"--buildkit-addr", a, "--buildkit-addr", b)...)
	if res.code != 0 {
		t.Fatalf("runc and rootlesskit on %s and %s: exit %d\n%s", a, b, res.code, testutil.LastLines(res.stderr, 40))
	}
	t.Logf("runc and rootlesskit on two BuildKit workers: %v", time.Since(start).Round(time.Millisecond))
	// The stack build printed every target's packages; these are bookworm/amd64's.
	stackPkg := func(base string) bool {
		return (strings.HasPrefix(base, "upstream-runc") || strings.HasPrefix(base, "upstream-rootlesskit")) &&
			strings.HasSuffix(base, debian.Releases["bookworm"].Suffix+"_amd64.deb")
	}
	if n := sameDebs(t, want, res.stdout, stackPkg); n < 2 {
		t.Errorf("the workers built %d runc and rootlesskit packages, want at least 2:\n%s", n, res.stdout)
	}
	ran := workersInSummary(t, res.stderr)
	if ran[a] != 1 || ran[b] != 1 {
		t.Errorf("runc and rootlesskit should have built one on each worker; the summary table says %v:\n%s", ran, res.stderr)
	}
}

// sameDebs checks that every .deb in got's output that keep selects is
// in want's output, under the same name, with the same bytes, and that
// none of want's selected ones is missing. It returns how many it
// compared.
func sameDebs(t *testing.T, want, got string, keep func(base string) bool) int {
	t.Helper()
	sums := map[string]string{}
	for _, p := range strings.Fields(want) {
		if base := filepath.Base(p); strings.HasSuffix(base, ".deb") && keep(base) {
			sums[base] = sha256File(t, p)
		}
	}
	n := 0
	for _, p := range strings.Fields(got) {
		base := filepath.Base(p)
		if !strings.HasSuffix(base, ".deb") || !keep(base) {
			continue
		}
		w, ok := sums[base]
		switch {
		case !ok:
			t.Errorf("%s was built on the workers but not by the sandbox", base)
		case sha256File(t, p) != w:
			t.Errorf("%s differs between the workers and the sandbox", base)
		}
		n++
	}
	if n != len(sums) {
		t.Errorf("the workers built %d packages, the sandbox %d", n, len(sums))
	}
	return n
}

// workersInSummary counts the components per WORKER in a summary table.
func workersInSummary(t *testing.T, stderr string) map[string]int {
	t.Helper()
	i := strings.Index(stderr, "\nCOMPONENT")
	if i < 0 || !strings.Contains(strings.SplitN(stderr[i+1:], "\n", 2)[0], "WORKER") {
		t.Fatalf("no summary table with a WORKER column:\n%s", stderr)
	}
	n := map[string]int{}
	for _, l := range strings.Split(stderr[i+1:], "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 8 {
			break
		}
		w := f[len(f)-1]
		if w == "-" {
			continue
		}
		if !strings.HasPrefix(w, "unix://") && !strings.HasPrefix(w, "tcp://") {
			break
		}
		n[w]++
	}
	return n
}

// Issue 15 item 2: a worker killed in the middle of a build has that
// build finished on the other worker: exit 0, everything published, the
// log says what happened, and the summary names the worker that built it.
func TestBuildKitWorkerLostMidBuild(t *testing.T) { workerLost(t, buildkitBin(t)) }

func workerLost(t *testing.T, bin string) {
	a, b := startBuildkitd(t, bin, ""), startBuildkitd(t, bin, "")
	specs := fixtureSubset(t, "hello-script", "hello-make")
	writeSlowSpec(t, specs, 25, "its worker can be killed under it")
	e := newEnv(t, specs)
	done := make(chan result, 1)
	go func() { done <- e.run(t, "build", "all", "--buildkit-addr", a, "--buildkit-addr", b) }()
	logPath := filepath.Join(e.cache, "logs", "slow.log")
	killed := ""
	deadline := time.Now().Add(3 * time.Minute)
	for killed == "" && time.Now().Before(deadline) {
		select {
		case r := <-done:
			t.Fatalf("the build ended before the slow step was seen: exit %d\n%s", r.code, testutil.LastLines(r.stderr, 30))
		case <-time.After(200 * time.Millisecond):
		}
		log, _ := os.ReadFile(logPath)
		for _, w := range []string{a, b} {
			if strings.Contains(string(log), "+ [buildkit "+w+"]") {
				// Inside the solve: the root unpacks, then the step's
				// sleep runs in the worker's container, on this host.
				for until := time.Now().Add(time.Minute); len(procsWith("sleep 25")) == 0 && time.Now().Before(until); {
					time.Sleep(100 * time.Millisecond)
				}
				killBuildkitd(t, w)
				killed = w
			}
		}
	}
	if killed == "" {
		t.Fatal("never saw the slow build start on a worker")
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d after %s was killed\n%s", r.code, killed, testutil.LastLines(r.stderr, 40))
	}
	if n := len(strings.Fields(r.stdout)); n != 3 {
		t.Errorf("%d packages published, want 3:\n%s", n, r.stdout)
	}
	log := string(mustRead(t, logPath))
	if !strings.Contains(log, "buildkit worker "+killed+": lost during the build of slow") || !strings.Contains(log, "trying another worker (2 of 3 tries)") {
		t.Errorf("the slow build's log does not tell the retry:\n%s", testutil.LastLines(log, 30))
	}
	other := a
	if killed == a {
		other = b
	}
	if after := log[strings.Index(log, "lost during the build of slow")+1:]; !strings.Contains(after, "+ [buildkit "+other+"]") || !strings.Contains(after, "[slow 1/2] sh -eu -c 'sleep 25': ") {
		t.Errorf("the slow build did not run again on %s:\n%s", other, testutil.LastLines(log, 30))
	}
	// Progress says where it ran, both times.
	for _, w := range []string{killed, other} {
		if !regexp.MustCompile(`(?m)^\[ *[0-9.]+s\] slow +build on ` + regexp.QuoteMeta(w) + `$`).MatchString(r.stderr) {
			t.Errorf("no progress line for slow's build on %s:\n%s", w, r.stderr)
		}
	}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "slow ") && !strings.HasSuffix(strings.TrimSpace(l), other) {
			t.Errorf("the summary does not name %s as slow's worker: %q", other, l)
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

// Issue 15: a worker without the needed platform is named once, with
// what it runs, and the other worker builds everything; with that worker
// alone, each build fails naming it and the fix, exit 1. buildkitd always
// reports the host's own platforms (--oci-worker-platform only adds
// some), so the arm64 machine is a stand-in: a BuildKit control service
// that answers ListWorkers with linux/arm64, as an arm64 buildkitd does.
func TestBuildKitWorkerWithoutPlatform(t *testing.T) { workerWithoutPlatform(t, buildkitBin(t)) }

func workerWithoutPlatform(t *testing.T, bin string) {
	arm := arm64OnlyWorker(t)
	amd := startBuildkitd(t, bin, "")
	e := newEnv(t, fixtureSubset(t, "hello-script", "hello-go"))
	r := e.run(t, "build", "all", "--buildkit-addr", arm, "--buildkit-addr", amd)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, testutil.LastLines(r.stderr, 30))
	}
	note := "buildkit worker " + arm + ": no platform linux/amd64 (it runs linux/arm64): its amd64 builds go to the other workers"
	if n := strings.Count(r.stderr, note); n != 1 {
		t.Errorf("the arm64 worker is named %d times, want once as %q:\n%s", n, note, r.stderr)
	}
	if ran := workersInSummary(t, r.stderr); ran[amd] != 2 || ran[arm] != 0 {
		t.Errorf("builds per worker %v, want both on %s", ran, amd)
	}

	e = newEnv(t, fixtureSubset(t, "hello-script"))
	r = e.run(t, "build", "all", "--buildkit-addr", arm)
	if r.code != 1 || !strings.Contains(r.stderr, "no buildkit worker for amd64: buildkit worker "+arm+": no platform linux/amd64 (it runs linux/arm64)") ||
		!strings.Contains(r.stderr, "hint: add a worker of that architecture") {
		t.Errorf("with the arm64 worker alone: exit %d\n%s", r.code, testutil.LastLines(r.stderr, 20))
	}
}

// arm64OnlyWorker serves BuildKit's control API on a unix socket,
// reporting one worker of linux/arm64; every other call is unimplemented.
func arm64OnlyWorker(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bkarm-") // a unix socket path must stay short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	controlapi.RegisterControlServer(srv, arm64Control{})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return "unix://" + sock
}

type arm64Control struct {
	controlapi.UnimplementedControlServer
}

func (arm64Control) ListWorkers(context.Context, *controlapi.ListWorkersRequest) (*controlapi.ListWorkersResponse, error) {
	return &controlapi.ListWorkersResponse{Record: []*workertypes.WorkerRecord{
		{ID: "arm64-stand-in", Platforms: []*pb.Platform{{OS: "linux", Architecture: "arm64"}}},
	}}, nil
}

// Issue 15: verify-reproducible --buildkit-addr makes its second build
// on the worker, so the local sandbox's package and the worker's are
// compared; an unreachable worker is named, exit 1, nothing compared.
func TestBuildKitVerifyReproducible(t *testing.T) { verifyOnWorker(t, buildkitBin(t)) }

func verifyOnWorker(t *testing.T, bin string) {
	a := startBuildkitd(t, bin, "")
	e := newEnv(t, fixtureSubset(t, "hello-go", "hello-make"))
	r := e.run(t, "verify-reproducible", "all", "--buildkit-addr", a)
	if r.code != 0 || strings.Count(r.stdout, "\treproducible\ton "+a+"\n") != 2 {
		t.Fatalf("exit %d, want both reproducible on %s:\n%s%s", r.code, a, r.stdout, testutil.LastLines(r.stderr, 20))
	}
	none := "unix://" + filepath.Join(tempDir(t), "none.sock")
	r = e.run(t, "verify-reproducible", "all", "--buildkit-addr", none)
	if r.code != 1 || !strings.Contains(r.stderr, "buildkit worker "+none+": ") || strings.Contains(r.stdout, "reproducible") {
		t.Errorf("with an unreachable worker: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	sum := sha256.Sum256(mustRead(t, p))
	return hex.EncodeToString(sum[:])
}

// makeCA writes a CA into dir and returns a function that issues a
// certificate from it for name (an IP), with the given extended key usage.
func makeCA(t *testing.T, dir string) func(base, ip, usage string) {
	t.Helper()
	ssl := func(args ...string) { sh(t, "openssl", args...) }
	ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
		"-subj", "/CN=debforge test CA", "-keyout", filepath.Join(dir, "ca-key.pem"), "-out", filepath.Join(dir, "ca.pem"))
	return func(base, ip, usage string) {
		ext := filepath.Join(dir, base+".ext")
		testutil.Must(t, os.WriteFile(ext, []byte("subjectAltName=IP:"+ip+"\nextendedKeyUsage="+usage+"\n"), 0o644))
		ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN="+ip,
			"-keyout", filepath.Join(dir, base+"-key.pem"), "-out", filepath.Join(dir, base+".csr"))
		ssl("x509", "-req", "-in", filepath.Join(dir, base+".csr"), "-CA", filepath.Join(dir, "ca.pem"), "-CAkey", filepath.Join(dir, "ca-key.pem"),
			"-CAcreateserial", "-days", "2", "-extfile", ext, "-out", filepath.Join(dir, base+".pem"))
	}
}

// Issue 15: a tcp:// worker with TLS client certificates, given as
// buildctl's --tlsdir takes them, builds; a client whose CA did not sign
// the worker's certificate stops with one error naming the worker and the
// fix, exit 1, out/ untouched; a TLS dir without the files is a usage
// error (exit 2).
func TestBuildKitTLSWorker(t *testing.T) { tlsWorker(t, buildkitBin(t)) }

func tlsWorker(t *testing.T, bin string) {
	pki := tempDir(t)
	issue := makeCA(t, pki)
	issue("server", "127.0.0.1", "serverAuth")
	issue("client", "127.0.0.1", "clientAuth")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := l.Addr().String()
	l.Close()
	addr := startBuildkitd(t, bin, hostPort, "--tlscacert", filepath.Join(pki, "ca.pem"),
		"--tlscert", filepath.Join(pki, "server.pem"), "--tlskey", filepath.Join(pki, "server-key.pem"))

	good := tempDir(t)
	sh(t, "cp", filepath.Join(pki, "ca.pem"), filepath.Join(good, "ca.pem"))
	sh(t, "cp", filepath.Join(pki, "client.pem"), filepath.Join(good, "cert.pem"))
	sh(t, "cp", filepath.Join(pki, "client-key.pem"), filepath.Join(good, "key.pem"))
	specs := fixtureSubset(t, "hello-script")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all", "--buildkit-addr", addr, "--buildkit-tlsdir", good); r.code != 0 {
		t.Fatalf("build over TLS: exit %d\n%s", r.code, testutil.LastLines(r.stderr, 30))
	}
	if log := string(mustRead(t, filepath.Join(e.cache, "logs", "hello-script.log"))); !strings.Contains(log, "+ [buildkit "+addr+"]") {
		t.Errorf("the log does not show the worker's commands:\n%s", testutil.LastLines(log, 20))
	}

	// Another CA: the worker's certificate is not trusted.
	other := tempDir(t)
	issueOther := makeCA(t, other)
	issueOther("client", "127.0.0.1", "clientAuth")
	bad := tempDir(t)
	sh(t, "cp", filepath.Join(other, "ca.pem"), filepath.Join(bad, "ca.pem"))
	sh(t, "cp", filepath.Join(other, "client.pem"), filepath.Join(bad, "cert.pem"))
	sh(t, "cp", filepath.Join(other, "client-key.pem"), filepath.Join(bad, "key.pem"))
	e2 := newEnv(t, specs)
	r := e2.run(t, "build", "all", "--buildkit-addr", addr, "--buildkit-tlsdir", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "buildkit worker "+addr+": ") || !strings.Contains(r.stderr, "hint: check --buildkit-tlsdir") {
		t.Errorf("untrusted worker: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(e2.out); err == nil {
		t.Error("out/ was created")
	}
	if r := e2.run(t, "build", "all", "--buildkit-addr", addr, "--buildkit-tlsdir", tempDir(t)); r.code != 2 || !strings.Contains(r.stderr, "want ca.pem, cert.pem and key.pem") {
		t.Errorf("empty TLS dir: exit %d\n%s", r.code, r.stderr)
	}
}

// Issue 15 item 3: a second machine reuses the first one's layers. The
// fixtures build on one worker exporting to a cache directory; a fresh
// worker (empty state) with a fresh debforge cache then imports it and
// runs none of the build commands again: every command step is cached.
func TestBuildKitCacheShared(t *testing.T) {
	cacheShared(t, buildkitBin(t), "type=local,dest="+tempDir(t), []string{"hello-go", "hello-make", "hello-autotools", "hello-script"})
}

// The same through a registry (Debian's docker-registry, plain HTTP on
// loopback): each component's layers under its own tag of one repository.
func TestBuildKitRegistryCache(t *testing.T) {
	bin := buildkitBin(t)
	reg := startRegistry(t)
	cfg := filepath.Join(tempDir(t), "buildkitd.toml")
	testutil.Must(t, os.WriteFile(cfg, []byte("[registry.\""+reg+"\"]\n  http = true\n"), 0o644))
	cacheShared(t, bin, "type=registry,ref="+reg+"/debforge/cache", []string{"hello-make", "hello-script"}, "--config", cfg)
	tags := httpGet(t, "http://"+reg+"/v2/debforge/cache/tags/list")
	for _, name := range []string{"hello-make", "hello-script"} {
		if !strings.Contains(tags, "debforge-"+name+"-amd64-") {
			t.Errorf("the registry has no cache tag for %s: %s", name, tags)
		}
	}
}

// startRegistry runs Debian's docker-registry on a free loopback port,
// its storage in a temp dir, until the test ends; it returns host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := tempDir(t)
	cfg := filepath.Join(dir, "config.yml")
	testutil.Must(t, os.WriteFile(cfg, []byte("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "+filepath.Join(dir, "data")+"\nhttp:\n  addr: "+addr+"\n"), 0o644))
	cmd := exec.Command("docker-registry", "serve", cfg)
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("docker-registry (the docker-registry package; make deps-test installs it): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("docker-registry did not answer on %s:\n%s", addr, log)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}

// cacheShared builds names on a fresh worker exporting to cache, then on
// a second fresh worker, with a fresh debforge cache, importing it: no
// build command runs again. bkArgs go to both buildkitds.
func cacheShared(t *testing.T, bin, cache string, names []string, bkArgs ...string) {
	specs := fixtureSubset(t, names...)
	var took []time.Duration
	var last env
	for i := 0; i < 2; i++ {
		addr := startBuildkitd(t, bin, "", bkArgs...)
		e := newEnv(t, specs)
		start := time.Now()
		if r := e.run(t, "build", "all", "--buildkit-addr", addr, "--buildkit-cache", cache); r.code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i+1, r.code, testutil.LastLines(r.stderr, 30))
		}
		took = append(took, time.Since(start))
		killBuildkitd(t, addr) // the second run's worker starts empty
		last = e
	}
	t.Logf("%s on a fresh worker: %v cold, %v with the first worker's cache imported from %s (%.0f%%; goal <= 20%%)", strings.Join(names, ", "),
		took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), cache, 100*float64(took[1])/float64(took[0]))
	for _, name := range names {
		log := string(mustRead(t, filepath.Join(last.cache, "logs", name+".log")))
		steps := 0
		for _, l := range strings.Split(log, "\n") {
			if strings.HasPrefix(l, "buildkit: ["+name+" ") {
				steps++
				if !strings.HasSuffix(l, ": cached") {
					t.Errorf("%s ran again with the cache imported: %s", name, l)
				}
			}
		}
		if steps == 0 {
			t.Errorf("%s's log shows no worker steps:\n%s", name, testutil.LastLines(log, 20))
		}
	}
}
