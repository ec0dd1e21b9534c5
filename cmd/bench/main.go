// Command bench measures debforge against the tools it replaces, on this
// machine, in one run (make bench). It prints medians of several runs and
// their ratios; nothing here asserts a time. "bench packaging" runs only
// the packaging figures.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

const runs = 5

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	work, err := os.MkdirTemp("", "debforge-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := setup(work)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	fmt.Printf("debforge benchmarks, %s, %s, %d cores, %s\n\n", time.Now().UTC().Format("2006-01-02"), host, runtime.NumCPU(), goVersion())
	// Sections "bench NAME" runs alone; the full run prints cold, tests,
	// targets and workers last, overhead inside its table.
	sections := map[string]func() error{
		// Only the packaging figures: no stack build needed.
		"packaging": func() error {
			return measure(func(work, _ string) ([2]time.Duration, error) { return benchPackaging(work) }, printPackaging, work, bin)
		},
		// The stack for 4 targets against 1.
		"targets": func() error { return measure(benchTargets, printTargets, work, bin) },
		// BuildKit: 1 vs 2 workers, a worker vs the sandbox.
		"workers": func() error { return measure(benchWorkers, printWorkers, work, bin) },
		// The sandbox's cost: a sandboxed build against the same go
		// builds on the host.
		"overhead": func() error { return measure(benchOverhead, printOverhead, work, bin) },
		// What a fresh machine pays before its first compile: roots and
		// caches.
		"cold": func() error { return measure(benchCold, printCold, work, bin) },
		// The stack's tests against installing the stack.
		"tests": func() error { return measure(benchTests, printTests, work, bin) },
	}
	if len(os.Args) > 1 && sections[os.Args[1]] != nil {
		if err := sections[os.Args[1]](); err != nil {
			return fmt.Errorf("%s: %w", os.Args[1], err)
		}
		return nil
	}
	if err := mainTable(work, bin); err != nil {
		return err
	}
	for _, name := range []string{"cold", "tests", "targets", "workers"} {
		if err := sections[name](); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	fmt.Printf("\nmedians of %d runs (build overhead and BuildKit worker vs sandbox: 3 runs, cold Go build cache each; 1 vs 2 workers: one run each)\n", runs)
	return nil
}

// setup makes work reachable by the build uid, points the builds at the
// build roots make build made (or DEBFORGE_ROOTS_DIR's), and builds the
// debforge binary the benchmarks run.
func setup(work string) (bin string, err error) {
	if err := os.Chmod(work, 0o755); err != nil {
		return "", err
	}
	if os.Getenv("DEBFORGE_ROOTS_DIR") == "" && os.Geteuid() == 0 {
		os.Setenv("DEBFORGE_ROOTS_DIR", "/var/cache/debforge/roots")
	}
	bin = filepath.Join(work, "debforge")
	if err := testutil.BuildDebforge(".", bin); err != nil {
		return "", fmt.Errorf("build debforge: %w", err)
	}
	return bin, nil
}

// printPackaging prints the packaging figure alone (bench packaging, the
// slice make test runs).
func printPackaging(pkg [2]time.Duration) {
	fmt.Printf("packaging vs dpkg-deb -Zgzip -z9: wall %s vs %s (%.2f, goal <= 0.5), CPU %s vs %s (%.2f); medians of %d runs\n",
		round(pkg[0]), round(pkg[1]), float64(pkg[0])/float64(pkg[1]),
		round(packagingCPU[0]), round(packagingCPU[1]), float64(packagingCPU[0])/float64(packagingCPU[1]), runs)
}

// mainTable measures and prints the figures of the full run's first
// table: indexing, packaging, the sandbox's overhead, the front page, the
// no-op rebuild and debforge's peak memory.
func mainTable(work, bin string) error {
	idx, err := benchIndexer(work)
	if err != nil {
		return fmt.Errorf("indexer: %w", err)
	}
	page, err := benchPage(work)
	if err != nil {
		return fmt.Errorf("front page: %w", err)
	}
	pkg, err := benchPackaging(work)
	if err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	over, err := benchOverhead(work, bin)
	if err != nil {
		return fmt.Errorf("overhead: %w", err)
	}
	noop, mem, err := benchNoop(work, bin)
	if err != nil {
		return fmt.Errorf("no-op: %w", err)
	}
	fmt.Println("figure                                          debforge     reference    ratio  goal")
	row("indexer vs apt-ftparchive packages (1000 debs)", idx[0], idx[1], "<= 1.0")
	row("packaging vs dpkg-deb -Zgzip -z9 (largest bin.)", pkg[0], pkg[1], "<= 0.5")
	row("  the same, CPU time (user + system)", packagingCPU[0], packagingCPU[1], "")
	printOverhead(over)
	fmt.Printf("%-47s %10s\n", "front page render (the 1000 debs' index)", round(page))
	fmt.Printf("%-47s %10s  goal <= 500ms\n", "no-op build all (4 targets, warm cache)", round(noop))
	fmt.Printf("%-47s %9.1f MB\n", "peak RSS of debforge packaging the stack", float64(mem)/1e6)
	return nil
}

// row prints one figure against its reference, their ratio and the goal.
func row(name string, a, b time.Duration, goal string) {
	fmt.Printf("%-47s %10s  %10s  %6.2f  %s\n", name, round(a), round(b), float64(a)/float64(b), goal)
}

// measure runs one benchmark and prints its rows.
func measure[T any](bench func(work, bin string) (T, error), print func(T), work, bin string) error {
	v, err := bench(work, bin)
	if err != nil {
		return err
	}
	print(v)
	return nil
}

// printOverhead prints benchOverhead's rows: the sandboxed build in its
// build root against the same go build commands run bare on the host.
func printOverhead(over [2]time.Duration) {
	row("sandboxed build vs bare go build (rootlesskit)", over[0], over[1], "")
	row("  the same without the packaging time", over[0]-overheadPackaging, over[1], "<= 1.10")
}

func printTargets(d [2]time.Duration) {
	row("cold build all, 4 targets vs 1 (the stack)", d[0], d[1], "<= 2.5")
}

// stackBuild builds the stack from a copy of specs/ outside the checkout:
// all but slirp4netns, whose upstream may be unreachable, and
// debforge-tool, whose source is the directory around specs/ (from a
// copy, the bench's work directory, which holds no Go module).
var stackBuild = []string{"build", "all", "--except", "slirp4netns", "--except", "debforge-tool"}

// targetsLine matches the targets: setting of debforge.yaml.
var targetsLine = regexp.MustCompile(`(?m)^targets:.*$`)

// benchTargets times a cold `build all` of the stack (every spec but
// slirp4netns, whose upstream may be unreachable) for bookworm and trixie
// on amd64 and arm64, against the same for bookworm/amd64 alone, from the
// same cache state: build roots and modules there, the Go build caches,
// the package cache and the shared compiles empty.
func benchTargets(work, bin string) ([2]time.Duration, error) {
	key := filepath.Join(work, "key.asc")
	var out [2]time.Duration
	conf, err := os.ReadFile(filepath.Join("specs", "debforge.yaml"))
	if err != nil {
		return out, err
	}
	cache := filepath.Join(work, "cache-targets")
	for i, targets := range []string{"[bookworm/amd64, bookworm/arm64, trixie/amd64, trixie/arm64]", "[bookworm/amd64]"} {
		specs := filepath.Join(work, fmt.Sprintf("specs-targets-%d", i))
		if err := cmdRun("cp", "-a", "specs", specs); err != nil {
			return out, err
		}
		data := targetsLine.ReplaceAll(conf, []byte("targets: "+targets))
		if !bytes.Contains(data, []byte("targets: "+targets)) {
			data = append(data, "\ntargets: "+targets+"\n"...)
		}
		if err := os.WriteFile(filepath.Join(specs, "debforge.yaml"), data, 0o644); err != nil {
			return out, err
		}
		if err := ensureKey(bin, specs, key); err != nil {
			return out, err
		}
		args := []string{"--specs", specs, "--cache-dir", cache, "--out", filepath.Join(work, fmt.Sprintf("out-targets-%d", i)), "--signing-key", key}
		// The roots of every target (a superset of bookworm/amd64's) and
		// the modules are made first, outside the timing: both timed
		// builds start without compiled output.
		if i == 0 {
			if err := cmdRun(bin, append(args, stackBuild...)...); err != nil {
				return out, err
			}
		}
		builds, _ := filepath.Glob(filepath.Join(cache, "go", "build*"))
		for _, d := range append(builds, filepath.Join(cache, "debs"), filepath.Join(cache, "compiled")) {
			os.RemoveAll(d)
		}
		os.RemoveAll(filepath.Join(work, fmt.Sprintf("out-targets-%d", i)))
		out[i], err = timed(func() error { return cmdRun(bin, append(args, stackBuild...)...) })
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func benchPage(work string) (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join(work, "Packages.ours"))
	if err != nil {
		return 0, err
	}
	rel := aptrepo.Release{Codename: "bench", Suite: "stable", Archs: []string{"amd64"},
		Entries: aptrepo.EntriesFromStanzas(aptrepo.ParseStanzas(data))}
	site := aptrepo.Site{Label: "bench", KeyName: "bench-archive-keyring", Releases: []aptrepo.Release{rel}}
	return median(runs, func() (time.Duration, error) {
		return timed(func() error {
			_, err := aptrepo.RenderPage(site)
			return err
		})
	})
}

func round(d time.Duration) string { return d.Round(time.Millisecond).String() }

func goVersion() string {
	out, _ := exec.Command("go", "env", "GOVERSION").Output()
	return strings.TrimSpace(string(out))
}

func median(n int, f func() (time.Duration, error)) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		d, err := f()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// ensureKey makes the signing key once: debforge never makes one at a
// path it was given.
func ensureKey(bin, specs, key string) error {
	if _, err := os.Stat(key); err == nil {
		return nil
	}
	return cmdRun(bin, "--specs", specs, "--signing-key", key, "keygen")
}

func cmdRun(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func component(name string) *spec.Component {
	return &spec.Component{Name: name, Version: "1.0", Revision: "1", Summary: "benchmark package", Description: "Benchmark.",
		License: "Apache-2.0", Copyright: "2026 bench", Maintainer: "Bench <bench@example.org>", Changes: "Bench.", File: "bench.yaml",
		Package: &spec.Package{Name: name, Section: "misc", Priority: "optional", Architecture: "any", Compression: "gzip"}}
}

// benchIndexer makes 1,000 small .debs and indexes them with debforge's
// indexer and with apt-ftparchive.
func benchIndexer(work string) ([2]time.Duration, error) {
	repo := filepath.Join(work, "repo")
	stage := filepath.Join(work, "stage-small")
	os.MkdirAll(filepath.Join(stage, "usr/share/bench"), 0o755)
	os.WriteFile(filepath.Join(stage, "usr/share/bench/data"), bytes.Repeat([]byte("debforge "), 4096), 0o644)
	for i := 0; i < 1000; i++ {
		c := component(fmt.Sprintf("bench-%04d", i))
		deb, err := packaging.Build(packaging.Input{Component: c, StageDir: stage, WorkDir: filepath.Join(work, "w"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, filepath.Join(work, "debs"))
		if err != nil {
			return [2]time.Duration{}, err
		}
		if _, _, err := aptrepo.AddToPool(repo, "main", deb); err != nil {
			return [2]time.Duration{}, err
		}
		os.Remove(deb)
	}
	ours, err := median(runs, func() (time.Duration, error) {
		return timed(func() error {
			pkgs, err := aptrepo.Scan(repo)
			if err != nil {
				return err
			}
			kept, _ := aptrepo.Select(pkgs, 3)
			var b strings.Builder
			for _, p := range kept {
				b.WriteString(aptrepo.Stanza(p))
				b.WriteByte('\n')
			}
			return os.WriteFile(filepath.Join(work, "Packages.ours"), []byte(b.String()), 0o644)
		})
	})
	if err != nil {
		return [2]time.Duration{}, err
	}
	theirs, err := median(runs, func() (time.Duration, error) {
		return timed(func() error {
			cmd := exec.Command("apt-ftparchive", "packages", "pool")
			cmd.Dir = repo
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("apt-ftparchive: %w", err)
			}
			return os.WriteFile(filepath.Join(work, "Packages.ftp"), out, 0o644)
		})
	})
	return [2]time.Duration{ours, theirs}, err
}

// benchPackaging packages the largest binary of the stack build (or a
// 50 MB stand-in made of Go toolchain binaries) with debforge and with
// dpkg-deb at gzip -9.
func benchPackaging(work string) ([2]time.Duration, error) {
	stage := filepath.Join(work, "stage-big")
	dst := filepath.Join(stage, "usr/bin/big")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	src := largestStackBinary()
	if src != "" {
		if err := cmdRun("cp", src, dst); err != nil {
			return [2]time.Duration{}, err
		}
	} else {
		goroot, _ := exec.Command("go", "env", "GOROOT").Output()
		tools := filepath.Join(strings.TrimSpace(string(goroot)), "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH)
		bins := []string{filepath.Join(tools, "compile"), filepath.Join(strings.TrimSpace(string(goroot)), "bin", "go"), filepath.Join(tools, "vet")}
		if err := cmdRun("sh", append([]string{"-c", `cat "$@" > ` + dst, "sh"}, bins...)...); err != nil {
			return [2]time.Duration{}, err
		}
	}
	os.Chmod(dst, 0o755)
	fmt.Fprintf(os.Stderr, "packaging benchmark input: %s\n", or(src, "Go's compile, go and vet binaries, concatenated (no stack build in the cache)"))
	c := component("big")
	var ourCPU []time.Duration
	ours, err := median(runs, func() (time.Duration, error) {
		before := selfCPU()
		defer func() { ourCPU = append(ourCPU, selfCPU()-before) }()
		return timed(func() error {
			_, err := packaging.Build(packaging.Input{Component: c, StageDir: stage, WorkDir: filepath.Join(work, "wb"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, filepath.Join(work, "bigdeb"))
			return err
		})
	})
	if err != nil {
		return [2]time.Duration{}, err
	}
	dpkgRoot := filepath.Join(work, "dpkg-root")
	os.MkdirAll(filepath.Join(dpkgRoot, "DEBIAN"), 0o755)
	os.MkdirAll(filepath.Join(dpkgRoot, "usr/bin"), 0o755)
	cmdRun("cp", dst, filepath.Join(dpkgRoot, "usr/bin/big"))
	os.WriteFile(filepath.Join(dpkgRoot, "DEBIAN/control"), []byte("Package: big\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Bench <bench@example.org>\nDescription: benchmark\n"), 0o644)
	var theirCPU []time.Duration
	theirs, err := median(runs, func() (time.Duration, error) {
		return timed(func() error {
			cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "-z9", "--build", dpkgRoot, filepath.Join(work, "big-dpkg.deb"))
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("dpkg-deb: %v\n%s", err, out)
			}
			theirCPU = append(theirCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
			return nil
		})
	})
	packagingCPU = [2]time.Duration{medianOf(ourCPU), medianOf(theirCPU)}
	return [2]time.Duration{ours, theirs}, err
}

// packagingCPU is the median CPU time (user + system) of the packaging
// benchmark: debforge's packaging.Build, dpkg-deb.
var packagingCPU [2]time.Duration

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func medianOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = append([]time.Duration{}, ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func largestStackBinary() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		h, _ := os.UserHomeDir()
		cache = filepath.Join(h, ".cache")
	}
	debs, _ := filepath.Glob(filepath.Join(cache, "debforge/debs/*/upstream-containerd_*.deb"))
	if len(debs) == 0 {
		return ""
	}
	dir, err := os.MkdirTemp("", "bench-x-")
	if err != nil {
		return ""
	}
	if cmdRun("dpkg-deb", "-x", debs[0], dir) != nil {
		return ""
	}
	return filepath.Join(dir, "usr/bin/containerd")
}

// overheadPackaging is the median packaging (nfpm, gzip) time inside the
// debforge build of benchOverhead, reported apart as the issue asks.
var overheadPackaging time.Duration

// benchOverhead compares `debforge build rootlesskit` with the same two
// go build commands, each from a cold Go build cache (module cache warm).
func benchOverhead(work, bin string) ([2]time.Duration, error) {
	specs := filepath.Join(work, "specs-rk")
	os.MkdirAll(specs, 0o755)
	if err := cmdRun("cp", filepath.Join("specs", "rootlesskit.yaml"), specs); err != nil {
		return [2]time.Duration{}, err
	}
	// One target, this machine's: the bare go build compiles for it alone.
	conf, err := os.ReadFile(filepath.Join("specs", "debforge.yaml"))
	if err != nil {
		return [2]time.Duration{}, err
	}
	if err := os.WriteFile(filepath.Join(specs, "debforge.yaml"), targetsLine.ReplaceAll(conf, []byte("targets: [bookworm/amd64]")), 0o644); err != nil {
		return [2]time.Duration{}, err
	}
	cache := filepath.Join(work, "cache-rk")
	out := filepath.Join(work, "out-rk")
	key := filepath.Join(work, "key.asc")
	if err := ensureKey(bin, specs, key); err != nil {
		return [2]time.Duration{}, err
	}
	// Fetch once so both sides start with the modules on disk.
	if err := cmdRun(bin, "--specs", specs, "--cache-dir", cache, "--out", out, "--signing-key", key, "fetch", "rootlesskit"); err != nil {
		return [2]time.Duration{}, err
	}
	// And build once, untimed, so that the build root and the pinned Go
	// toolchain exist before the timed runs: each of those then compiles
	// from a cold Go build cache, as the bare go build does.
	if err := cmdRun(bin, "--specs", specs, "--cache-dir", cache, "--out", out, "--signing-key", key, "build", "rootlesskit"); err != nil {
		return [2]time.Duration{}, err
	}
	gobuild := filepath.Join(cache, "go", "build")
	var packagingTimes []time.Duration
	ours, err := median(3, func() (time.Duration, error) {
		// Sandboxed builds keep one Go build cache per build root.
		caches, _ := filepath.Glob(gobuild + "-*")
		for _, c := range caches {
			os.RemoveAll(c)
		}
		var stderr []byte
		d, err := timed(func() error {
			cmd := exec.Command(bin, "--specs", specs, "--cache-dir", cache, "--out", out, "--signing-key", key, "build", "rootlesskit", "--rebuild", "rootlesskit")
			var err error
			stderr, err = cmd.CombinedOutput()
			return err
		})
		// The summary row: COMPONENT VERSION CACHE BUILD PACKAGE ...
		if m := regexp.MustCompile(`(?m)^rootlesskit(?:@\S+)?\s+\S+\s+\S+\s+[\d.]+s\s+([\d.]+)s`).FindSubmatch(stderr); m != nil {
			secs, _ := strconv.ParseFloat(string(m[1]), 64)
			packagingTimes = append(packagingTimes, time.Duration(secs*float64(time.Second)))
		}
		return d, err
	})
	if err != nil {
		return [2]time.Duration{}, err
	}
	sort.Slice(packagingTimes, func(i, j int) bool { return packagingTimes[i] < packagingTimes[j] })
	if len(packagingTimes) > 0 {
		overheadPackaging = packagingTimes[len(packagingTimes)/2]
	}
	theirs, err := bareRootlesskit(work, cache, gobuild)
	return [2]time.Duration{ours, theirs}, err
}

// bareRootlesskit times rootlesskit's two go build commands run bare on
// the host from a cold Go build cache at gobuild (median of 3), with the
// module cache of cache.
func bareRootlesskit(work, cache, gobuild string) (time.Duration, error) {
	src := filepath.Join(work, "rk-src")
	zip, _ := filepath.Glob(filepath.Join(cache, "go/mod/cache/download/github.com/rootless-containers/rootlesskit/v3/@v/v3.3.0.zip"))
	if len(zip) == 0 {
		return 0, fmt.Errorf("rootlesskit zip not in the cache")
	}
	if err := source.ExtractZip(zip[0], src); err != nil {
		return 0, err
	}
	env := append(os.Environ(), "GOMODCACHE="+filepath.Join(cache, "go/mod"), "GOCACHE="+gobuild, "GOPROXY=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	return median(3, func() (time.Duration, error) {
		os.RemoveAll(gobuild)
		return timed(func() error {
			for _, m := range []string{"./cmd/rootlesskit", "./cmd/rootlessctl"} {
				cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(work, "rk-bin", filepath.Base(m)), m)
				cmd.Dir, cmd.Env = src, env
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("go build: %v\n%s", err, out)
				}
			}
			return nil
		})
	})
}

// benchNoop times `build all` with everything cached, and records the peak
// RSS of a debforge process that packages every stack component.
func benchNoop(work, bin string) (time.Duration, int64, error) {
	out := filepath.Join(work, "out-all")
	key := filepath.Join(work, "key.asc")
	if err := ensureKey(bin, "specs", key); err != nil {
		return 0, 0, err
	}
	args := []string{"--specs", "specs", "--out", out, "--signing-key", key, "build", "all", "--except", "slirp4netns"}
	// The first run re-packages every component (warm Go cache: it links
	// but compiles little), so its peak RSS covers packaging the stack.
	peak, err := peakRSS(bin, append(args, "--rebuild", "containerd,runc,nerdctl,cni-plugins,buildkit,rootlesskit,cgroup-delegation,rootless-containerd-stack")...)
	if err != nil {
		return 0, 0, err
	}
	d, err := median(runs, func() (time.Duration, error) {
		return timed(func() error { return cmdRun(bin, args...) })
	})
	return d, peak, err
}

// peakRSS runs a command and returns its VmHWM (peak resident set).
func peakRSS(name string, args ...string) (int64, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var peak int64
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if v := vmHWM(cmd.Process.Pid); v > peak {
			peak = v
		}
		select {
		case err := <-done:
			if err != nil {
				return 0, fmt.Errorf("%v\n%s", err, stderr.String())
			}
			return peak, nil
		case <-tick.C:
		}
	}
}

func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			n, _ := strconv.ParseInt(f[0], 10, 64)
			return n * 1024
		}
	}
	return 0
}
