package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/buildkitd"
)

// workerFigures are benchWorkers' results.
type workerFigures struct {
	// one and two: the fixtures, runc and rootlesskit on fresh workers.
	one, two time.Duration
	// sandbox and worker: rootlesskit alone, cold Go build cache, root
	// ready (medians).
	sandbox, worker time.Duration
}

// workerSet is what benchWorkers builds: the four compiled fixtures and
// two stack components, one with cgo against a -dev package (runc) and
// one pure Go with help2man pages (rootlesskit).
var workerSet = []string{"hello-go", "hello-make", "hello-autotools", "hello-script", "runc", "rootlesskit"}

// warmSpec has rootlesskit's build dependencies, so the same build root,
// and builds nothing: it gets a fresh worker the root before a timed run.
const warmSpec = "name: warm\nversion: 1.0.0\nsummary: sends the build root to a worker\ndescription: |\n  Builds nothing.\nlicense: Apache-2.0\ncopyright: 2026 Nobody\n" +
	"source:\n  dir: src/scripthello\n" +
	"build:\n  kind: script\n  build_depends: [help2man]\n  steps:\n    - install -D -m 0755 scripthello.sh \"$DESTDIR/usr/bin/warm\"\n" +
	"package:\n  architecture: all\n  lintian_overrides:\n    - {tag: no-manual-page, reason: A benchmark fixture.}\n"

func printWorkers(w workerFigures) {
	row("fixtures+runc+rootlesskit, 2 workers vs 1", w.two, w.one, "")
	row("rootlesskit on a BuildKit worker vs sandbox", w.worker, w.sandbox, "<= 1.10")
}

// benchWorkers runs buildkitd from the stack's own upstream-buildkit and
// upstream-runc (built here for bookworm/amd64 if the cache lacks them)
// and times, from one debforge cache whose sources, modules and roots
// are ready (--rebuild skips its packages):
//   - workerSet on one fresh worker against two (one run each: a run
//     takes minutes; each worker is sent the roots it needs);
//   - rootlesskit on a worker that has its root but a cold Go build
//     cache, against the local sandbox with a cold Go build cache
//     (median of 3).
func benchWorkers(work, bin string) (workerFigures, error) {
	var w workerFigures
	key := filepath.Join(work, "key.asc")
	bk, err := buildkitFromStack(work, bin, key)
	if err != nil {
		return w, err
	}
	specs, err := workerSpecs(work)
	if err != nil {
		return w, err
	}
	cache := filepath.Join(work, "cache-workers")
	base := []string{"--specs", specs, "--cache-dir", cache, "--out", filepath.Join(work, "out-workers"), "--signing-key", key}
	build := func(names []string, addrs ...string) error {
		args := append(append(append([]string{}, base...), "build"), names...)
		args = append(args, "--rebuild", strings.Join(names, ","))
		for _, a := range addrs {
			args = append(args, "--buildkit-addr", a)
		}
		return cmdRun(bin, args...)
	}
	// Sources, modules and roots first, outside the timing.
	if err := build(append([]string{"warm"}, workerSet...)); err != nil {
		return w, err
	}
	start := func(n int) ([]*buildkitd.Daemon, []string, error) { return startWorkers(bk, work, n) }
	for _, n := range []int{1, 2} {
		ds, addrs, err := start(n)
		if err != nil {
			return w, err
		}
		d, err := timed(func() error { return build(workerSet, addrs...) })
		stopAll(ds)
		if err != nil {
			return w, err
		}
		if n == 1 {
			w.one = d
		} else {
			w.two = d
		}
	}
	rootlesskit := []string{"rootlesskit"}
	if w.sandbox, err = median(3, func() (time.Duration, error) {
		builds, _ := filepath.Glob(filepath.Join(cache, "go", "build*"))
		for _, d := range builds {
			os.RemoveAll(d)
		}
		return timed(func() error { return build(rootlesskit) })
	}); err != nil {
		return w, err
	}
	w.worker, err = median(3, func() (time.Duration, error) {
		ds, addrs, err := start(1)
		if err != nil {
			return 0, err
		}
		defer stopAll(ds)
		if err := build([]string{"warm"}, addrs...); err != nil {
			return 0, err
		}
		return timed(func() error { return build(rootlesskit, addrs...) })
	})
	return w, err
}

// workerSpecs copies the fixtures, runc and rootlesskit (with their
// patches and files) and the warm-up spec into work.
func workerSpecs(work string) (string, error) {
	specs := filepath.Join(work, "specs-workers")
	if err := cmdRun("cp", "-a", "internal/e2e/testdata/specs", specs); err != nil {
		return "", err
	}
	for _, p := range []string{"specs/runc.yaml", "specs/rootlesskit.yaml", "specs/patches", "specs/files"} {
		if err := cmdRun("cp", "-a", p, specs); err != nil {
			return "", err
		}
	}
	return specs, os.WriteFile(filepath.Join(specs, "warm.yaml"), []byte(warmSpec), 0o644)
}

// startWorkers starts n BuildKit daemons of the binary bk, logging into
// work, and returns them with their addresses.
func startWorkers(bk, work string, n int) ([]*buildkitd.Daemon, []string, error) {
	var ds []*buildkitd.Daemon
	var addrs []string
	for i := 0; i < n; i++ {
		d, err := buildkitd.Start(bk, filepath.Join(work, fmt.Sprintf("buildkitd-%d.log", i)), "")
		if err != nil {
			stopAll(ds)
			return nil, nil, err
		}
		ds, addrs = append(ds, d), append(addrs, d.Addr)
	}
	return ds, addrs, nil
}

func stopAll(ds []*buildkitd.Daemon) {
	for _, d := range ds {
		d.Stop()
	}
}

// buildkitFromStack builds (or finds in the targets benchmark's cache)
// the stack's upstream-buildkit and upstream-runc for bookworm/amd64 and
// unpacks them into one directory, which it returns.
func buildkitFromStack(work, bin, key string) (string, error) {
	if err := ensureKey(bin, "specs", key); err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--specs", "specs", "--cache-dir", filepath.Join(work, "cache-targets"), "--out", filepath.Join(work, "out-buildkit"),
		"--signing-key", key, "build", "buildkit", "runc", "--target", "bookworm/amd64")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build buildkit and runc: %v\n%s", err, stderr.String())
	}
	dir := filepath.Join(work, "buildkit-bin")
	found := 0
	for _, p := range strings.Fields(string(out)) {
		base := filepath.Base(p)
		if strings.HasSuffix(base, "_amd64.deb") && (strings.HasPrefix(base, "upstream-buildkit_") || strings.HasPrefix(base, "upstream-runc_")) {
			if err := cmdRun("dpkg-deb", "-x", p, dir); err != nil {
				return "", err
			}
			found++
		}
	}
	if found != 2 {
		return "", fmt.Errorf("the build of buildkit and runc printed %d of their two amd64 packages:\n%s", found, out)
	}
	return dir, nil
}
