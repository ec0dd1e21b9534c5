package execx

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// pidsFrom reads n pids, one a line, from r.
func pidsFrom(t *testing.T, r io.Reader, n int) []int {
	t.Helper()
	sc := bufio.NewScanner(r)
	var pids []int
	for len(pids) < n && sc.Scan() {
		pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil {
			t.Fatalf("unexpected output %q", sc.Text())
		}
		pids = append(pids, pid)
	}
	if len(pids) < n {
		t.Fatalf("got pids %v, want %d", pids, n)
	}
	return pids
}

// cancelBound is how long a cancelled step may take to end, it and every
// process of its group: a functional bound, not a benchmark. The issue
// asks for 2 s; by design it takes about KillGrace (SIGTERM, then SIGKILL
// 1 s later; WaitDelay at 2 s only if a pipe stays open). 3 s leaves room
// for a loaded 2-core CI machine and still fails a regression to the old
// 18.5 s, or to anything much slower than the design.
const cancelBound = 3 * time.Second

// Issue 9 item 10: cancelling a build step ends the whole process group
// (sh and the children it started), not only sh, and Run returns promptly.
func TestCancelKillsProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		// One child in the background, one in the foreground, one that
		// ignores SIGTERM (so SIGKILL must follow).
		done <- OS{}.Run(ctx, Cmd{Args: []string{"sh", "-c", `sleep 30 & echo $!; sh -c 'trap "" TERM; echo $$; sleep 30' & sleep 30 & echo $!; wait`}}, pw)
		pw.Close()
	}()
	pids := pidsFrom(t, pr, 3)
	go io.Copy(io.Discard, pr)
	for _, p := range pids {
		if !testutil.Alive(p) {
			t.Fatalf("child %d not running before cancel", p)
		}
	}
	cancel()
	cancelled := time.Now()
	deadline := cancelled.Add(cancelBound)
	select {
	case err := <-done:
		if err == nil {
			t.Error("cancelled command returned no error")
		}
		t.Logf("Run returned %v after cancellation", time.Since(cancelled).Round(time.Millisecond))
	case <-time.After(time.Until(deadline)):
		t.Fatalf("Run did not return within %v of cancellation", cancelBound)
	}
	// The SIGKILL for the TERM-ignoring child follows KillGrace later,
	// within the same bound.
	for _, p := range pids {
		for testutil.Alive(p) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if testutil.Alive(p) {
			t.Errorf("child %d still running %v after cancel", p, cancelBound)
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// A step that succeeds but leaves a background child (its output sent
// elsewhere, so it holds no pipe) does not leave it running.
func TestStrayChildEndsWithStep(t *testing.T) {
	var out strings.Builder
	err := OS{}.Run(context.Background(), Cmd{Args: []string{"sh", "-c", `sleep 30 >/dev/null 2>&1 & echo $!`}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("output %q", out.String())
	}
	deadline := time.Now().Add(cancelBound)
	for testutil.Alive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if testutil.Alive(pid) {
		t.Errorf("background child %d outlived its step by %v", pid, cancelBound)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
