package forge

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

func testForge(t *testing.T, jobs int) *Forge {
	t.Helper()
	return &Forge{opts: Options{Jobs: jobs, CacheDir: t.TempDir(), Log: io.Discard}}
}

func byName(results []Result) map[string]Result {
	m := map[string]Result{}
	for _, r := range results {
		m[r.Component] = r
	}
	return m
}

// Issue 9 item 12: a failure skips its dependents (and theirs), naming
// the failed and the skipped prerequisite; independent components run.
func TestIssue9Item12SkipPropagation(t *testing.T) {
	comps := []*spec.Component{comp("aa"), comp("bb", "aa"), comp("cc", "bb"), comp("dd")}
	var ran sync.Map
	results := testForge(t, 2).parallel(context.Background(), comps, func(c *spec.Component, _ io.Writer) Result {
		ran.Store(c.Name, true)
		r := Result{Component: c.Name}
		if c.Name == "aa" {
			r.Err = errors.New("compile error")
		}
		return r
	})
	got := byName(results)
	if len(got) != 4 {
		t.Fatalf("results for %d of 4 components: %+v", len(got), results)
	}
	if err := got["bb"].Err; !errors.Is(err, ErrSkipped) || !strings.Contains(err.Error(), "needs aa, which failed") {
		t.Errorf("bb: %v", err)
	}
	if err := got["cc"].Err; !errors.Is(err, ErrSkipped) || !strings.Contains(err.Error(), "needs bb, which was skipped") {
		t.Errorf("cc: %v", err)
	}
	if got["dd"].Err != nil || got["aa"].Err == nil || errors.Is(got["aa"].Err, ErrSkipped) {
		t.Errorf("aa: %v, dd: %v", got["aa"].Err, got["dd"].Err)
	}
	for _, n := range []string{"bb", "cc"} {
		if _, ok := ran.Load(n); ok {
			t.Errorf("%s ran although a prerequisite failed", n)
		}
	}
}

// Issue 9 item 12: never more than Jobs components run at once, and the
// limit is reached (the components do run in parallel).
func TestIssue9Item12JobsLimit(t *testing.T) {
	for _, jobs := range []int{1, 3} {
		var comps []*spec.Component
		for _, n := range strings.Fields("c1 c2 c3 c4 c5 c6 c7 c8 c9") {
			comps = append(comps, comp(n))
		}
		var running, peak atomic.Int32
		results := testForge(t, jobs).parallel(context.Background(), comps, func(c *spec.Component, _ io.Writer) Result {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			running.Add(-1)
			return Result{Component: c.Name}
		})
		if len(byName(results)) != len(comps) {
			t.Errorf("jobs %d: %d results", jobs, len(results))
		}
		if p := peak.Load(); p > int32(jobs) || p < int32(jobs) {
			t.Errorf("jobs %d: peak of %d running at once", jobs, p)
		}
	}
}

// Issue 9 item 12: after cancellation nothing new starts; every
// component not run gets a "cancelled" result (never an empty one), the
// one interrupted while running is cancelled too, and dependents are not
// told a prerequisite failed.
func TestIssue9Item12Cancellation(t *testing.T) {
	comps := []*spec.Component{comp("aa"), comp("bb"), comp("cc"), comp("dd", "aa"), comp("ee", "dd")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran []string
	var mu sync.Mutex
	results := testForge(t, 1).parallel(ctx, comps, func(c *spec.Component, _ io.Writer) Result {
		mu.Lock()
		ran = append(ran, c.Name)
		mu.Unlock()
		// The first component to run is interrupted like a killed command.
		cancel()
		return Result{Component: c.Name, Err: errors.New("signal: terminated")}
	})
	if len(ran) != 1 {
		t.Errorf("components run after cancellation: %v", ran)
	}
	for i, r := range results {
		if r.Component != comps[i].Name {
			t.Errorf("result %d is for %q, want %s", i, r.Component, comps[i].Name)
		}
		if !errors.Is(r.Err, ErrCancelled) {
			t.Errorf("%s: %v, want cancelled", comps[i].Name, r.Err)
		}
		if r.Err != nil && strings.Contains(r.Err.Error(), "failed") {
			t.Errorf("%s: %v", comps[i].Name, r.Err)
		}
	}
}

// Issue 9 item 12: an interrupted Build publishes nothing (here on a
// fresh out/: no repository, no key appears).
func TestIssue9Item12InterruptedBuildPublishesNothing(t *testing.T) {
	specs := t.TempDir()
	os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"T <t@example.org>\"\n"), 0o644)
	os.WriteFile(filepath.Join(specs, "meta.yaml"), []byte("name: meta\nversion: \"1.0\"\nsummary: s\ndescription: d\nlicense: MIT\npackage:\n  depends: [bash]\n"), 0o644)
	dir := t.TempDir()
	f, err := New(Options{SpecsDir: specs, OutDir: filepath.Join(dir, "out"), CacheDir: filepath.Join(dir, "cache"),
		SigningKey: filepath.Join(dir, "key.asc"), CreateKey: true, Arch: "amd64", Runner: &execx.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	results, err := f.Build(ctx, []string{"all"})
	if err == nil {
		t.Error("an interrupted build returned no error")
	}
	if len(results) != 1 || !errors.Is(results[0].Err, ErrCancelled) {
		t.Errorf("results: %+v", results)
	}
	for _, p := range []string{filepath.Join(dir, "out", "repo", "dists"), filepath.Join(dir, "key.asc")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("an interrupted build wrote %s", p)
		}
	}
}
