//go:build integration

package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// procStat is the part of /proc/PID/stat the tests need.
type procStat struct {
	pid, ppid int
	comm      string
	state     byte
}

func readProcStat(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	rest := strings.Fields(s[end+1:])
	if len(rest) < 2 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(rest[1])
	return procStat{pid: pid, ppid: ppid, comm: s[open+1 : end], state: rest[0][0]}, true
}

// descendants lists the live processes below pid.
func descendants(pid int) []procStat {
	entries, _ := os.ReadDir("/proc")
	var all []procStat
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			if st, ok := readProcStat(n); ok && st.state != 'Z' {
				all = append(all, st)
			}
		}
	}
	below := map[int]bool{pid: true}
	var out []procStat
	for changed := true; changed; {
		changed = false
		for _, st := range all {
			if below[st.ppid] && !below[st.pid] {
				below[st.pid] = true
				out = append(out, st)
				changed = true
			}
		}
	}
	return out
}

func running(pid int) bool {
	st, ok := readProcStat(pid)
	return ok && st.state != 'Z'
}

// Issue 9 item 10: SIGTERM while a build step runs `sleep 20` ends debforge
// with exit 130 and leaves no `sleep` behind (the whole process group of
// the step is killed, not only its sh). The repository published before
// (quick 1.0.0) keeps its dists/ exactly: quick 1.0.1 finishes and is
// pooled during the interrupted run, so only the interrupt check stands
// between it and a new index.
func TestSigtermEndsBuildStepGroup(t *testing.T) {
	specs := t.TempDir()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	testutil.Must(t, os.MkdirAll(filepath.Join(specs, "src"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "src", "README"), []byte("x\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "sleeper.yaml"), []byte(`name: sleeper
version: 1.0.0
summary: s
description: d
license: Apache-2.0
source:
  dir: src
build:
  kind: script
  steps:
    - sleep 20; echo late > "$WORK/late"
package:
  architecture: all
`), 0o644))
	quick := func(version string) {
		testutil.Must(t, os.WriteFile(filepath.Join(specs, "quick.yaml"), []byte("name: quick\nversion: "+version+"\nsummary: s\ndescription: d\nlicense: Apache-2.0\n"+
			"source:\n  dir: src\nbuild:\n  kind: script\n  steps:\n    - mkdir -p \"$DESTDIR/usr/share/quick\"\npackage:\n  architecture: all\n"), 0o644))
	}
	quick("1.0.0")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "quick"); r.code != 0 {
		t.Fatalf("build quick 1.0.0: exit %d\n%s", r.code, r.stderr)
	}
	dists := filepath.Join(e.out, "repo", "dists")
	if _, err := os.Stat(dists); err != nil {
		t.Fatalf("the first build published nothing: %v", err)
	}
	before := treeHash(t, dists)
	quick("1.0.1")
	cmd := exec.Command(debforgeBin, "--specs", e.specs, "--out", e.out, "--cache-dir", e.cache, "--signing-key", e.key, "--jobs", "2", "build", "quick", "sleeper")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var sleepPid int
	for deadline := time.Now().Add(60 * time.Second); sleepPid == 0 && time.Now().Before(deadline); {
		for _, p := range descendants(cmd.Process.Pid) {
			if p.comm == "sleep" {
				sleepPid = p.pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sleepPid == 0 {
		t.Fatalf("the build step's sleep never started:\n%s", stderr.String())
	}
	var pooled []string
	for deadline := time.Now().Add(60 * time.Second); len(pooled) == 0 && time.Now().Before(deadline); {
		pooled, _ = filepath.Glob(filepath.Join(e.out, "repo", "pool", "*", "*", "quick", "quick_1.0.1-*.deb"))
		time.Sleep(20 * time.Millisecond)
	}
	if len(pooled) == 0 {
		t.Fatalf("quick 1.0.1 never reached the pool while sleeper ran:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(3 * time.Second):
		// The issue asks for 2 s; it takes milliseconds (the step's group
		// gets SIGTERM at once, SIGKILL a second later). 3 s is a
		// functional bound with room for a loaded 2-core machine.
		t.Fatalf("debforge still running 3 s after SIGTERM:\n%s", stderr.String())
	}
	t.Logf("debforge exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want 130\n%s", err, stderr.String())
	}
	for deadline := time.Now().Add(5 * time.Second); running(sleepPid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if running(sleepPid) {
		syscall.Kill(sleepPid, syscall.SIGKILL)
		t.Errorf("the step's sleep (pid %d) outlived debforge", sleepPid)
	}
	if left := descendants(cmd.Process.Pid); len(left) > 0 {
		t.Errorf("processes left below debforge: %v", left)
	}
	if treeHash(t, dists) != before {
		t.Error("an interrupted build published a new index: dists/ changed")
	}
	if !strings.Contains(stderr.String(), "nothing new published") {
		t.Errorf("stderr does not say nothing new was published:\n%s", stderr.String())
	}
}

// Issue 9 item 17: a failed build step is reported as its argv (not its
// environment), the last 20 lines of its output once, and a hint naming
// the full log; --keep-work keeps the work directory and says where.
func TestBuildFailureReadable(t *testing.T) {
	specs := t.TempDir()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	testutil.Must(t, os.MkdirAll(filepath.Join(specs, "src"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "src", "README"), []byte("x\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "broken.yaml"), []byte(`name: broken
version: 1.0.0
summary: s
description: d
license: Apache-2.0
source:
  dir: src
build:
  kind: script
  env: {LONG_SETTING: "`+strings.Repeat("x", 300)+`"}
  steps:
    - for i in $(seq 1 50); do echo out$i; done; touch "$WORK/left-behind"; exit 3
package:
  architecture: all
`), 0o644))
	e := newEnv(t, specs)
	r := e.run(t, "build", "broken", "--keep-work")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	var errLines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "debforge: error:") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 {
		t.Errorf("want one 'debforge: error:' line, got %d:\n%s", len(errLines), r.stderr)
	} else {
		first := errLines[0]
		if !strings.Contains(first, "sh -eu -c") || !strings.Contains(first, "exit status 3") {
			t.Errorf("first error line lacks the command and status: %s", first)
		}
		if len(first) > 300 || strings.Contains(first, "LONG_SETTING") || strings.Contains(first, "SOURCE_DATE_EPOCH") {
			t.Errorf("first error line carries the environment (%d chars): %s", len(first), first)
		}
	}
	for i := 1; i <= 50; i++ {
		want := 0
		if i > 30 {
			want = 1
		}
		if n := strings.Count(r.stderr, "out"+strconv.Itoa(i)+"\n"); n != want {
			t.Errorf("output line out%d appears %d times on stderr, want %d", i, n, want)
		}
	}
	log := filepath.Join(e.cache, "logs", "broken.log")
	if !strings.Contains(r.stderr, "debforge: hint: full log: "+log+"\n") {
		t.Errorf("no hint naming the full log %s:\n%s", log, r.stderr)
	}
	if data, err := os.ReadFile(log); err != nil || !strings.Contains(string(data), "out1\n") || !strings.Contains(string(data), "LONG_SETTING") {
		t.Errorf("full log %s lacks the whole output and environment: %v", log, err)
	}
	_, kept, ok := strings.Cut(r.stderr, "debforge: hint: work dir kept: ")
	kept, _, _ = strings.Cut(kept, "\n")
	if !ok {
		t.Fatalf("--keep-work does not say where the work dir is:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(kept, "tmp", "left-behind")); err != nil {
		t.Errorf("work dir not kept: %v", err)
	}
	// Without --keep-work the work dir goes away.
	r = e.run(t, "build", "broken")
	if strings.Contains(r.stderr, "work dir kept") {
		t.Errorf("work dir kept without --keep-work:\n%s", r.stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(e.cache, "work", "broken-*")); len(left) != 1 {
		t.Errorf("work dirs left: %v (want only the one kept on purpose)", left)
	}
}

// Issue 9 item 9: a spec whose build.env holds nested {{range}} loops
// (it hung validate, and SIGTERM did nothing) is refused at once with
// its position; were validate still running after 2 s, SIGTERM must end
// it with 130.
func TestValidateHostileTemplate(t *testing.T) {
	specs := t.TempDir()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "loop.yaml"), []byte(`name: loop
version: 1.0.0
summary: s
description: d
license: Apache-2.0
source: {dir: .}
build:
  kind: make
  env:
    X: "{{range 100000000}}{{range 100000000}}{{range 100000000}}x{{end}}{{end}}{{end}}"
`), 0o644))
	cmd := exec.Command(debforgeBin, "--specs", specs, "validate")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(2 * time.Second):
		t.Error("validate still running after 2 s; sending SIGTERM")
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-waited:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("after SIGTERM: %v, want exit 130", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("validate ignored SIGTERM for 10 s")
		}
		return
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit %v, want 2\n%s", err, stderr.String())
	}
	if want := filepath.Join(specs, "loop.yaml") + ":10:8: build.env.X: bad template:"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}
