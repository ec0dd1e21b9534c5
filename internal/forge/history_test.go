package forge

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// historyComponent is a minimal package "hist" at revision rev.
func historyComponent(rev, changes string) *spec.Component {
	return &spec.Component{
		Name: "hist", Version: "1.0", Revision: rev, Summary: "history fixture", Description: "History fixture.",
		License: "MIT", Copyright: "The authors", Maintainer: "A B <a@example.org>", Changes: changes, File: "hist.yaml",
		Package: &spec.Package{Name: "hist", Section: "admin", Priority: "optional", Architecture: "any", Compression: "gzip"},
	}
}

// poolDeb builds hist at rev with the given history and adds it to the
// pool of the repository in out.
func poolDeb(t *testing.T, out string, c *spec.Component, history string) {
	t.Helper()
	stage := t.TempDir()
	if err := os.MkdirAll(filepath.Join(stage, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "usr/bin/hist"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	in := packaging.Input{Component: c, StageDir: stage, SrcDir: t.TempDir(), WorkDir: t.TempDir(), Arch: "amd64",
		MTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), History: []byte(history)}
	deb, err := packaging.Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := aptrepo.AddToPool(filepath.Join(out, "repo"), "main", deb); err != nil {
		t.Fatal(err)
	}
}

func historyForge(out, cache string) *Forge {
	return &Forge{opts: Options{Arch: "amd64", OutDir: out, CacheDir: cache, Log: io.Discard},
		set: &spec.Set{Repo: &spec.Repo{Component: "main"}}}
}

// A trixie package's changelog chains to earlier trixie builds only:
// whether the bookworm build of the same version was pooled first must not
// change its bytes.
func TestChangelogHistoryStaysInItsRelease(t *testing.T) {
	out := t.TempDir()
	poolDeb(t, out, historyComponent("1+deb12", "Bookworm build."), "")
	f := historyForge(out, t.TempDir())
	history, err := f.changelogHistory(historyComponent("1+deb13", "Trixie build."))
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 0 {
		t.Errorf("trixie's history holds another release's build:\n%s", history)
	}
	// An unsuffixed revision, published before targets, is in every
	// release's index and so is history of each.
	poolDeb(t, out, historyComponent("0", "Before targets."), "")
	history, err = f.changelogHistory(historyComponent("1+deb13", "Trixie build."))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(history), "hist (1.0-0) unstable;") || strings.Contains(string(history), "deb12") {
		t.Errorf("trixie's history after an unsuffixed revision:\n%s", history)
	}
}

// Two repositories share one cache and hold different .debs under the
// same file name: each build reads its own pool's history, not the text
// the cache kept for the other.
func TestChangelogHistoryIsThePoolsOwnWithASharedCache(t *testing.T) {
	cache := t.TempDir()
	withPast, withoutPast := t.TempDir(), t.TempDir()
	past := "hist (1.0-0+deb13) trixie; urgency=medium\n\n  * Earlier.\n\n -- A B <a@example.org>  Fri, 02 Jan 2026 03:04:05 +0000"
	poolDeb(t, withPast, historyComponent("1+deb13", "Trixie build."), past)
	poolDeb(t, withoutPast, historyComponent("1+deb13", "Trixie build."), "")
	c := historyComponent("1+deb13", "Trixie build.")
	for _, run := range []struct {
		out  string
		want string
	}{{withPast, past}, {withoutPast, ""}, {withPast, past}} {
		got, err := historyForge(run.out, cache).changelogHistory(c)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(got)) != run.want {
			t.Errorf("history of the rebuild in %s:\n%s\nwant:\n%s", run.out, got, run.want)
		}
	}
}

// A version below the one published for the same release is refused
// before anything is built, with the way out: with keep: 1 it was built,
// reported ok with a pool path, and pruned at once. Another release's
// newer build does not count.
func TestOlderVersionThanPublishedIsRefused(t *testing.T) {
	out := t.TempDir()
	poolDeb(t, out, historyComponent("2+deb12", "Second."), "")
	f := historyForge(out, t.TempDir())
	err := f.checkNotOlder(historyComponent("1+deb12", "First again."))
	if err == nil || !strings.Contains(err.Error(), "older than the published 1.0-2+deb12") || !strings.Contains(hint.Of(err), "above 1.0-2+deb12") {
		t.Errorf("building 1.0-1+deb12 after 1.0-2+deb12: %v (hint %q)", err, hint.Of(err))
	}
	for _, rev := range []string{"2+deb12", "3+deb12", "1+deb13"} {
		if err := f.checkNotOlder(historyComponent(rev, "x")); err != nil {
			t.Errorf("1.0-%s: %v", rev, err)
		}
	}
}

// A component's log is the log of the build that made its package: a
// cache hit, which builds nothing, leaves it as it was; a new build keeps
// the one before as <name>.prev.log. With targets each target has its own.
func TestComponentLogSurvivesCacheHits(t *testing.T) {
	f := historyForge(t.TempDir(), t.TempDir())
	write := func(text string, keep bool) string {
		w, path, finish := f.componentLog("hello")
		fmt.Fprint(w, text)
		finish(keep)
		return path
	}
	path := write("first build\n", true)
	write("cache hit\n", false)
	if b, _ := os.ReadFile(path); string(b) != "first build\n" {
		t.Errorf("after a cache hit the log holds %q", b)
	}
	write("second build\n", true)
	if b, _ := os.ReadFile(path); string(b) != "second build\n" {
		t.Errorf("after a build the log holds %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "hello.prev.log")); string(b) != "first build\n" {
		t.Errorf("the previous log holds %q", b)
	}
	f.oneTarget, f.release, f.opts.Arch = true, "trixie", "arm64"
	if got := f.logName("hello"); got != "hello@trixie-arm64" {
		t.Errorf("log name with targets: %s", got)
	}
}
