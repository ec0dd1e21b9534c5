//go:build integration

package e2e

import (
	"math/rand"
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

// installAll adds the fixture repository to a fresh rootfs of suite the way
// the README tells an admin, and installs the meta-package with apt.
func installAll(t *testing.T, suite string) string {
	e, _ := fixtures(t)
	root := rootfs(t, suite)
	addRepo(t, root, filepath.Join(e.out, "repo"))
	out, err := aptUpdate(root)
	if err != nil {
		t.Fatalf("%s: apt-get update: %v\n%s", suite, err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "W:") || strings.HasPrefix(line, "E:") || strings.HasPrefix(line, "N:") {
			t.Errorf("%s: apt-get update said: %s", suite, line)
		}
	}
	out, err = inRoot(root, "apt-get", "install", "-y", "hello-meta")
	if err != nil {
		t.Fatalf("%s: apt-get install: %v\n%s", suite, err, out)
	}
	for bin, want := range map[string]string{"gohello": "gohello 1.0.0", "makehello": "makehello 2.0.0", "autohello": "autohello 3.1.4", "scripthello": "scripthello 4.0.0"} {
		got, err := inRoot(root, bin)
		if err != nil || strings.TrimSpace(got) != want {
			t.Errorf("%s: %s printed %q (%v), want %q", suite, bin, got, err, want)
		}
	}
	return root
}

func TestAptInstallBookworm(t *testing.T) {
	root := installAll(t, "bookworm")
	// Reinstall, remove and purge cleanly; purging the package that ships
	// /opt/hello/bin must leave /opt alone.
	for _, args := range [][]string{
		{"apt-get", "install", "-y", "--reinstall", "hello-script"},
		{"apt-get", "purge", "-y", "hello-meta", "hello-script", "hello-go", "hello-make", "hello-autotools"},
	} {
		if out, err := inRoot(root, args...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "opt")); err != nil {
		t.Errorf("purging removed /opt: %v", err)
	}
	if out, _ := inRoot(root, "dpkg", "-S", "/opt"); !strings.Contains(out, "no path found") {
		t.Errorf("some package still claims /opt: %s", out)
	}
}

// trixie's apt 3 verifies with sqv and is stricter about keys and hashes.
func TestAptInstallTrixie(t *testing.T) {
	installAll(t, "trixie")
}

// apt refuses a tampered repository: each case must fail with its message.
func TestTamperedRepositoryRefused(t *testing.T) {
	e, _ := fixtures(t)
	root := rootfs(t, "bookworm")
	repo := filepath.Join(root, "srv/repo")
	dist := func() string { return filepath.Join(repo, "dists/fixtures") }
	cases := []struct {
		name   string
		tamper func(t *testing.T)
		step   []string // command after update; nil: update itself must fail
		want   string
	}{
		{"edited Packages", func(t *testing.T) {
			for _, f := range []string{"Packages", "Packages.gz", "Packages.xz"} {
				p := filepath.Join(dist(), "main/binary-amd64", f)
				b, _ := os.ReadFile(p)
				os.Remove(p)
				testutil.Must(t, os.WriteFile(p, append(b, "\n"...), 0o644))
			}
			os.RemoveAll(filepath.Join(dist(), "main/binary-amd64/by-hash"))
		}, nil, "Hash Sum mismatch|File has unexpected size"},
		{"edited Release", func(t *testing.T) {
			for _, f := range []string{"InRelease", "Release"} {
				p := filepath.Join(dist(), f)
				b, _ := os.ReadFile(p)
				os.Remove(p)
				testutil.Must(t, os.WriteFile(p, []byte(strings.Replace(string(b), "Suite: stable", "Suite: stablx", 1)), 0o644))
			}
		}, nil, "BADSIG|signatures were invalid|is not signed|Bad signature"},
		{"swapped deb", func(t *testing.T) {
			debs, _ := filepath.Glob(filepath.Join(repo, "pool/main/h/hello-go/*.deb"))
			other, _ := filepath.Glob(filepath.Join(repo, "pool/main/h/hello-make/*.deb"))
			sh(t, "cp", other[0], debs[0])
		}, []string{"apt-get", "install", "-y", "hello-go"}, "Hash Sum mismatch|Size mismatch|unexpected size"},
		{"signed by another key", func(t *testing.T) {
			other := newEnv(t, "testdata/specs")
			other.cache = e.cache // reuse built packages
			if r := other.run(t, "build", "hello-go"); r.code != 0 {
				t.Fatalf("build with another key: %s", r.stderr)
			}
			os.RemoveAll(repo)
			sh(t, "cp", "-a", filepath.Join(other.out, "repo"), repo)
		}, nil, "NO_PUBKEY|not signed|signatures couldn't be verified|Missing key|Bad signature|public key is not available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addRepo(t, root, filepath.Join(e.out, "repo"))
			tc.tamper(t)
			out, err := aptUpdate(root)
			if tc.step != nil {
				if err != nil {
					t.Fatalf("update failed before the tampered step: %v\n%s", err, out)
				}
				out, err = inRoot(root, tc.step...)
			} else if err == nil && !strings.Contains(out, "W:") && !strings.Contains(out, "E:") {
				t.Fatalf("apt accepted the tampered repository:\n%s", out)
			}
			if tc.step != nil && err == nil {
				t.Fatalf("apt accepted the tampered package:\n%s", out)
			}
			if !matchAny(out, tc.want) {
				t.Errorf("apt's message does not say %q:\n%s", tc.want, out)
			}
		})
	}
}

func matchAny(s, alternatives string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if strings.Contains(s, a) {
			return true
		}
	}
	return false
}

// Killing publish at random points leaves a repository apt accepts. The
// seed is logged (rerun with DEBFORGE_KILL_SEED). Only a kill that lands
// while publish runs counts (one that comes after it exited tested
// nothing, and shortens the delays that follow); the test goes on until
// minKills have landed and wantMid of them while publish was writing the
// repository (a new snapshot directory, or the dists link swapped, before
// the process ended), and fails if that takes more than maxTries.
func TestInterruptedPublishKeepsRepoUsable(t *testing.T) {
	e, _ := fixtures(t)
	work := newEnv(t, e.specs)
	work.cache, work.key = e.cache, e.key
	sh(t, "cp", "-a", e.out, work.out)
	root := rootfs(t, "bookworm")
	seed := time.Now().UnixNano()
	if s := os.Getenv("DEBFORGE_KILL_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("DEBFORGE_KILL_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d (rerun with DEBFORGE_KILL_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))
	publish := func() *exec.Cmd {
		return exec.Command(debforgeBin, "--specs", work.specs, "--out", work.out, "--cache-dir", work.cache, "--signing-key", work.key, "publish")
	}
	// How long one publish takes here, so the kills spread over it: the
	// fastest run seen so far, since the first is slowed by cold caches
	// and the time of one run varies by a factor of two on a loaded
	// machine.
	var fastest time.Duration
	for range 3 {
		start := time.Now()
		if out, err := publish().CombinedOutput(); err != nil {
			t.Fatalf("uninterrupted publish: %v\n%s", err, out)
		}
		if d := time.Since(start); fastest == 0 || d < fastest {
			fastest = d
		}
	}
	t.Logf("an uninterrupted publish takes %v", fastest.Round(time.Millisecond))
	snapshots := func() map[string]bool {
		entries, _ := os.ReadDir(filepath.Join(work.out, "repo", ".snapshots"))
		m := map[string]bool{}
		for _, e := range entries {
			m[e.Name()] = true
		}
		return m
	}
	link := filepath.Join(work.out, "repo", "dists", "fixtures")
	const minKills, wantMid, maxTries = 12, 3, 150
	landed, midPublish, tries := 0, 0, 0
	for ; tries < maxTries && (landed < minKills || midPublish < wantMid); tries++ {
		before, linkBefore := snapshots(), mustReadlink(t, link)
		cmd := publish()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(float64(fastest) * (0.2 + 0.7*rng.Float64()))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		killed := ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
		if !killed {
			// Exited by itself before the signal: a faster run than any
			// seen, so later delays shrink to it.
			if err != nil {
				t.Fatalf("try #%d: publish failed on its own: %v", tries, err)
			}
			if d := time.Since(start); d < fastest {
				fastest = d
			}
		}
		wrote := mustReadlink(t, link) != linkBefore
		for name := range snapshots() {
			if !before[name] {
				wrote = true
			}
		}
		if killed {
			landed++
			if wrote {
				midPublish++
			}
		}
		addRepo(t, root, filepath.Join(work.out, "repo"))
		if out, err := aptUpdate(root); err != nil || strings.Contains(out, "W:") || strings.Contains(out, "E:") {
			t.Fatalf("after try #%d (kill after %v, landed %v, mid-publish %v) apt-get update failed: %v\n%s", tries, delay, killed, wrote, err, out)
		}
	}
	t.Logf("%d tries: %d kills landed while publish ran, %d of them while it was writing the repository", tries, landed, midPublish)
	if landed < minKills || midPublish < wantMid {
		t.Errorf("after %d tries only %d kills landed while publish ran (want %d) and %d while it wrote (want %d), seed %d: the test did not exercise enough interrupted writes", tries, landed, minKills, midPublish, wantMid, seed)
	}
}

func mustReadlink(t *testing.T, p string) string {
	t.Helper()
	l, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
