package buildkit

import (
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/hint"
)

// A worker without the target's platform is refused by name, with what
// it does run; a variant-less platform matches the worker's own variant.
func TestWorkerPlatforms(t *testing.T) {
	w := &Worker{addr: "tcp://builder-1:1234", platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/arm/v7"}}
	for _, arch := range []string{"amd64", "armhf"} {
		if err := w.runs(arch); err != nil {
			t.Errorf("runs(%s): %v", arch, err)
		}
	}
	for _, arch := range []string{"arm64", "armel", "vax"} {
		err := w.runs(arch)
		if err == nil || !strings.Contains(err.Error(), "buildkit worker tcp://builder-1:1234: no platform") {
			t.Errorf("runs(%s) = %v, want an error naming the worker and the platform", arch, err)
		}
	}
	if err := w.runs("arm64"); !strings.Contains(err.Error(), "it runs linux/amd64, linux/amd64/v2, linux/arm/v7") {
		t.Errorf("the error does not say what the worker runs: %v", err)
	}
}

// Builds go to the least busy worker that runs the architecture, never to
// one pinned to another architecture, and a retry never to a worker that
// already failed the build; with none left, the error names each worker
// and why.
func TestWorkersTake(t *testing.T) {
	a := &Worker{addr: "unix:///a", platforms: []string{"linux/amd64"}}
	b := &Worker{addr: "unix:///b", platforms: []string{"linux/amd64", "linux/arm64"}}
	arm := &Worker{addr: "tcp://arm:1234", pin: "arm64", platforms: []string{"linux/arm64"}}
	ws := &Pool{all: []*Worker{a, b, arm}, busy: map[*Worker]int{}}
	first, _ := ws.Take("amd64", nil)
	second, _ := ws.Take("amd64", nil)
	if first != a || second != b {
		t.Errorf("two amd64 builds went to %s and %s, want a then b", first.addr, second.addr)
	}
	ws.Release(first)
	if w, _ := ws.Take("amd64", nil); w != a {
		t.Errorf("the idle worker a was not chosen: %s", w.addr)
	}
	ws.Release(a)
	ws.Release(b)
	if w, _ := ws.Take("amd64", map[*Worker]bool{a: true}); w != b {
		t.Errorf("a retry went to %s, want b", w.addr)
	}
	ws.Release(b)
	if w, _ := ws.Take("arm64", nil); w != b && w != arm {
		t.Errorf("arm64 went to %s", w.addr)
	}
	_, err := ws.Take("amd64", map[*Worker]bool{a: true, b: true})
	if err == nil || !strings.Contains(err.Error(), "unix:///a failed during this build") || !strings.Contains(err.Error(), "tcp://arm:1234 is pinned to arm64") {
		t.Errorf("no worker left: %v", err)
	}
}

func TestParseCache(t *testing.T) {
	for v, want := range map[string]Cache{
		"type=local,dest=/srv/bk/":              {Dir: "/srv/bk"},
		"type=local,src=/srv/bk,dest=/srv/bk":   {Dir: "/srv/bk"},
		"type=registry,ref=127.0.0.1:5000/c":    {Ref: "127.0.0.1:5000/c"},
		"type=registry,ref=registry.example/bk": {Ref: "registry.example/bk"},
		"type=registry,ref=debforge/cache":      {Ref: "docker.io/debforge/cache"},
	} {
		if got, err := ParseCache(v); err != nil || got != want {
			t.Errorf("%s = %+v, %v; want %+v", v, got, err, want)
		}
	}
	for _, bad := range []string{"", "/srv/bk", "type=s3,bucket=b", "type=local", "type=local,dest=rel", "type=local,src=/a,dest=/b", "type=local,dest=/a,mode=max",
		"type=registry", "type=registry,ref=r/c:tag", "type=registry,ref=r/c@sha256:" + strings.Repeat("a", 64), "type=registry,ref=r/UPPER", "type=registry,ref=r/c,dest=/a"} {
		_, err := ParseCache(bad)
		if err == nil || hint.Of(err) == "" || !strings.Contains(err.Error(), "--buildkit-cache "+bad+":") {
			t.Errorf("%q: %v (hint %q)", bad, err, hint.Of(err))
		}
	}
}

// Issue 15: a worker without the needed platform is named once, with
// what it runs, while the other workers take its builds; it is not
// named again for the next build of that architecture.
func TestWorkerWithoutPlatformIsNamedOnce(t *testing.T) {
	var said []string
	arm := &Worker{addr: "unix:///arm", platforms: []string{"linux/arm64"}}
	amd := &Worker{addr: "unix:///amd", platforms: []string{"linux/amd64"}}
	ws := &Pool{all: []*Worker{arm, amd}, busy: map[*Worker]int{}, warn: func(s string) { said = append(said, s) }, warned: map[string]bool{}}
	for range 3 {
		w, err := ws.Take("amd64", nil)
		if err != nil || w != amd {
			t.Fatalf("take(amd64) = %v, %v; want the amd64 worker", w, err)
		}
		ws.Release(w)
	}
	want := "buildkit worker unix:///arm: no platform linux/amd64 (it runs linux/arm64): its amd64 builds go to the other workers"
	if len(said) != 1 || said[0] != want {
		t.Errorf("said %q, want once %q", said, want)
	}
	if w, _ := ws.Take("arm64", nil); w != arm || len(said) != 2 || !strings.Contains(said[1], "unix:///amd: no platform linux/arm64") {
		t.Errorf("arm64 went to %v; said %q", w, said)
	}
}
