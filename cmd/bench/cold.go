package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/forge"
)

// coldFigures is what a fresh machine pays before its first compile.
type coldFigures struct {
	derive, whole     time.Duration    // a root with one extra build dependency: derived, and bootstrapped whole
	deriveDisk        int64            // the derived root's own disk
	rootsDisk, goDisk int64            // the stack's roots and Go build caches after make build
	isolation         [2]time.Duration // the stack's cold build: each component's own Go cache, and one shared
	isolationGoDisk   int64            // the Go build caches that cold build (own caches) left
}

// oneExtra is the build dependency the derived root adds to the base:
// a -dev package with a library, as a cgo component needs.
const oneExtra = "libseccomp-dev"

// benchCold derives a root with one extra build dependency from the base
// root in a private store (median of 3), bootstraps the same root whole
// as debforge did before roots were derived (once), and sizes the stack's
// roots and Go build caches in the default cache (make build's).
func benchCold(work, bin string) (coldFigures, error) {
	var c coldFigures
	ctx := context.Background()
	t := buildroot.Target{Release: "bookworm", Arch: "amd64"}
	shared := &buildroot.Store{Dir: os.Getenv("DEBFORGE_ROOTS_DIR"), Runner: execx.OS{}}
	base, err := shared.Ensure(ctx, t, nil, io.Discard)
	if err != nil {
		return c, err
	}
	private := filepath.Join(work, "roots-cold")
	if err := os.MkdirAll(filepath.Join(private, "bookworm-amd64"), 0o755); err != nil {
		return c, err
	}
	// The private store's base is the shared one's files, linked.
	if err := cmdRun("cp", "-al", filepath.Dir(base.FS), filepath.Join(private, "bookworm-amd64", "base")); err != nil {
		return c, err
	}
	store := &buildroot.Store{Dir: private, Runner: execx.OS{}}
	c.derive, err = median(3, func() (time.Duration, error) {
		var r *buildroot.Root
		d, err := timed(func() (err error) {
			r, err = store.Ensure(ctx, t, []string{oneExtra}, io.Discard)
			return err
		})
		if err != nil {
			return d, err
		}
		if c.deriveDisk, err = store.DiskUsage(r); err != nil {
			return d, err
		}
		return d, os.RemoveAll(filepath.Dir(r.FS))
	})
	if err != nil {
		return c, fmt.Errorf("derive a root: %w", err)
	}
	lines, err := buildroot.MirrorLines(t.Release, "")
	if err != nil {
		return c, err
	}
	c.whole, err = timed(func() error {
		return cmdRun("mmdebstrap", append([]string{"--quiet", "--variant=buildd", "--mode=root", "--format=tar", "--include=" + oneExtra,
			t.Release, filepath.Join(work, "whole-root.tar")}, lines...)...)
	})
	os.Remove(filepath.Join(work, "whole-root.tar"))
	if err != nil {
		return c, fmt.Errorf("bootstrap a whole root: %w", err)
	}
	if c.rootsDisk, err = rootsDisk(shared); err != nil {
		return c, err
	}
	builds, _ := filepath.Glob("/var/cache/debforge/go/build*")
	for _, b := range builds {
		c.goDisk += duBytes(b)
	}
	if os.Getenv("DEBFORGE_BENCH_COLD") == "roots" {
		return c, nil // the roots and disk figures alone (bench cold with DEBFORGE_BENCH_COLD=roots)
	}
	c.isolation, c.isolationGoDisk, err = benchIsolation(work, bin)
	return c, err
}

func printCold(c coldFigures) {
	row("root with one extra build dep.: derived vs whole", c.derive, c.whole, "<= 15s derived")
	fmt.Printf("%-47s %9.1f MB  goal <= 150 MB\n", "  the derived root's own disk", float64(c.deriveDisk)/1e6)
	fmt.Printf("%-47s %9.1f GB  goal <= 3 GB\n", "build roots on disk (make build's store)", float64(c.rootsDisk)/1e9)
	fmt.Printf("%-47s %9.1f GB  goal <= 3 GB\n", "Go build caches on disk (make build's cache)", float64(c.goDisk)/1e9)
	if c.isolation[1] > 0 {
		row("cold stack build: own Go caches vs one shared", c.isolation[0], c.isolation[1], "<= 1.10")
		fmt.Printf("%-47s %9.1f GB\n", "  its Go build caches (bookworm/amd64 alone)", float64(c.isolationGoDisk)/1e9)
	}
}

// rootsDisk is the disk every root of store takes, shared files once.
func rootsDisk(store *buildroot.Store) (int64, error) {
	roots, err := store.List()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, r := range roots {
		n, err := store.DiskUsage(r)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// duBytes is the disk a tree takes (allocated blocks), as du counts it.
func duBytes(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil {
			if fi, err := d.Info(); err == nil {
				total += fi.Sys().(*syscall.Stat_t).Blocks * 512
			}
		}
		return nil
	})
	return total
}

// benchIsolation times a cold `build all` of the stack for bookworm/amd64
// (stackBuild) as debforge builds (the go command's compiles share one
// cache, build-trusted; every other command writes its component's own),
// against the same build with the pure Go components sharing one cache
// for everything, as they did before caches were isolated: each pure
// component's cache directory and the trusted one are made links to one
// shared directory before the build (the names are debforge's:
// build-<component>-pure, build-trusted).
// Both start with the roots and modules made and every build cache, the
// package cache and the shared compiles empty.
func benchIsolation(work, bin string) (out [2]time.Duration, goDisk int64, err error) {
	specs := filepath.Join(work, "specs-isolation")
	if err := cmdRun("cp", "-a", "specs", specs); err != nil {
		return out, goDisk, err
	}
	conf, err := os.ReadFile(filepath.Join(specs, "debforge.yaml"))
	if err != nil {
		return out, goDisk, err
	}
	if err := os.WriteFile(filepath.Join(specs, "debforge.yaml"), targetsLine.ReplaceAll(conf, []byte("targets: [bookworm/amd64]")), 0o644); err != nil {
		return out, goDisk, err
	}
	key := filepath.Join(work, "key.asc")
	if err := ensureKey(bin, specs, key); err != nil {
		return out, goDisk, err
	}
	cache := filepath.Join(work, "cache-isolation")
	args := append([]string{"--specs", specs, "--cache-dir", cache, "--out", filepath.Join(work, "out-isolation"), "--signing-key", key}, stackBuild...)
	// Sources and modules, untimed; the roots are make build's (both runs
	// find them made).
	fetch := append([]string{"--specs", specs, "--cache-dir", cache, "--out", filepath.Join(work, "out-isolation"), "--signing-key", key, "fetch"}, stackBuild[1:]...)
	if err := cmdRun(bin, fetch...); err != nil {
		return out, goDisk, err
	}
	pure := []string{filepath.Join(cache, "go", "build-trusted")}
	set, err := forge.LoadSpecs(specs)
	if err != nil {
		return out, goDisk, err
	}
	for _, c := range set.Components {
		if c.Build.PureGo() {
			pure = append(pure, filepath.Join(cache, "go", "build-"+c.Name+"-pure"))
		}
	}
	for i, shared := range []bool{false, true} {
		builds, _ := filepath.Glob(filepath.Join(cache, "go", "build*"))
		for _, d := range append(builds, filepath.Join(cache, "debs"), filepath.Join(cache, "compiled"), filepath.Join(work, "out-isolation")) {
			os.RemoveAll(d)
		}
		if shared {
			one := filepath.Join(cache, "go", "build-shared")
			if err := os.MkdirAll(one, 0o755); err != nil {
				return out, goDisk, err
			}
			// debforge hands a cache directory to the build uid; through
			// a link it would chown the link, so the bench does it.
			uid, gid, err := sandbox.BuildIDs()
			if err != nil {
				return out, goDisk, err
			}
			if err := os.Chown(one, uid, gid); err != nil {
				return out, goDisk, err
			}
			for _, p := range pure {
				if err := os.Symlink(one, p); err != nil {
					return out, goDisk, err
				}
			}
		}
		if out[i], err = timed(func() error { return cmdRun(bin, args...) }); err != nil {
			return out, goDisk, err
		}
		if !shared {
			made, _ := filepath.Glob(filepath.Join(cache, "go", "build*"))
			for _, d := range made {
				goDisk += duBytes(d)
			}
		}
	}
	return out, goDisk, nil
}
