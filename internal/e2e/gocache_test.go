//go:build integration

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// victimModule writes a small module whose binary prints msg.Msg.
func victimModule(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"go.mod":     "module example.com/victim\n\ngo 1.22\n",
		"msg/msg.go": "package msg\n\nvar Msg = \"genuine\"\n",
		"main.go":    "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/victim/msg\"\n)\n\nfunc main() { fmt.Println(msg.Msg) }\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		testutil.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		testutil.Must(t, os.WriteFile(p, []byte(text), 0o644))
	}
}

const victimSpec = `name: victim
version: 1.0.0
summary: an honest Go program
description: |
  Test fixture.
license: Apache-2.0
copyright: 2026 The debforge authors
source:
  dir: src/victim
build:
  kind: go
  binaries:
    - {main: ., dst: /usr/bin/victim}
`

// The attacker compiles the victim's module the way the go builder does
// (same flags, same sandbox paths, so the same cache actions), then
// rewrites every cached output that holds the victim's string with one of
// the same size: the go command checks an output's size, not its hash,
// when it links. Its own rebuild proves the poison works in the cache it
// wrote.
const attackerSpec = `name: attacker
version: 1.0.0
summary: a build that poisons the Go build cache
description: |
  Test fixture.
license: Apache-2.0
copyright: 2026 The debforge authors
source:
  dir: src/victim
build:
  kind: script
  hardening: warn
  hardening_reason: a static Go test binary; its hardening is not what the test is about
  steps:
    - CGO_ENABLED=0 go build -trimpath -buildvcs=false -buildmode=pie -o "$WORK/first" .
    - grep -rl --include='*-d' genuine "$GOCACHE" > "$WORK/poisoned"
    - test -s "$WORK/poisoned"
    - xargs sed -i 's/genuine/HACKED!/g' < "$WORK/poisoned"
    - CGO_ENABLED=0 go build -trimpath -buildvcs=false -buildmode=pie -o "$DESTDIR/usr/bin/attacker" .
`

// The same attack from a go build's post_steps, which run after the go
// builder compiled the same module through the cache components share:
// a post step sees only the component's own cache, so it poisons every
// cache entry it can write and rebuilds from there.
const postStepAttackerSpec = `name: post-attacker
version: 1.0.0
summary: a go build whose post steps poison every Go build cache they reach
description: |
  Test fixture.
license: Apache-2.0
copyright: 2026 The debforge authors
source:
  dir: src/victim
build:
  kind: go
  binaries:
    - {main: ., dst: /usr/bin/post-attacker-honest}
  post_steps:
    - CGO_ENABLED=0 go build -trimpath -buildvcs=false -buildmode=pie -o "$WORK/first" .
    - find /build/go -name '*-d' -writable -exec grep -l genuine {} + > "$WORK/poisoned"
    - test -s "$WORK/poisoned"
    - xargs sed -i 's/genuine/HACKED!/g' < "$WORK/poisoned"
    - CGO_ENABLED=0 go build -trimpath -buildvcs=false -buildmode=pie -o "$DESTDIR/usr/bin/post-attacker" .
`

// A build can write only its own component's Go build cache: a component
// that poisons the cache it builds with, from script steps or from a go
// build's post_steps, cannot change what another component of the same
// root links, though the go command's own compiles of the same module
// share their cache. The victim built after the attackers is byte for
// byte the victim built alone.
func TestGoBuildCachePoisonStaysInTheAttackersComponent(t *testing.T) {
	specs := tempDir(t)
	sh(t, "cp", "-a", "testdata/specs/debforge.yaml", specs)
	victimModule(t, filepath.Join(specs, "src", "victim"))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "victim.yaml"), []byte(victimSpec), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "attacker.yaml"), []byte(attackerSpec), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "post-attacker.yaml"), []byte(postStepAttackerSpec), 0o644))

	alone := newEnv(t, specs)
	r := alone.run(t, "build", "victim")
	if r.code != 0 {
		t.Fatalf("victim alone (exit %d):\n%s", r.code, r.stderr)
	}
	clean := mustRead(t, strings.TrimSpace(r.stdout))

	shared := newEnv(t, specs)
	for _, attacker := range []string{"attacker", "post-attacker"} {
		r = shared.run(t, "build", attacker)
		if r.code != 0 {
			t.Fatalf("%s (exit %d):\n%s", attacker, r.code, r.stderr)
		}
		if out := runPackaged(t, strings.TrimSpace(r.stdout), "usr/bin/"+attacker); out != "HACKED!" {
			t.Fatalf("the attack did not take in %s's own cache (it prints %q): the test proves nothing", attacker, out)
		}
	}
	// The post-attacker's go builder compile wrote the shared cache that
	// the victim's compile reads.
	if entries, _ := filepath.Glob(filepath.Join(shared.cache, "go", "build-trusted", "*", "*-a")); len(entries) == 0 {
		t.Fatal("the go builder's compiles left nothing in the shared cache: the test proves nothing about it")
	}
	r = shared.run(t, "build", "victim")
	if r.code != 0 {
		t.Fatalf("victim after the attackers (exit %d):\n%s", r.code, r.stderr)
	}
	deb := strings.TrimSpace(r.stdout)
	if out := runPackaged(t, deb, "usr/bin/victim"); out != "genuine" {
		t.Errorf("the victim built after the attackers prints %q", out)
	}
	if !bytes.Equal(mustRead(t, deb), clean) {
		t.Errorf("the victim built after the attackers differs from the victim built alone")
	}
}

// runPackaged unpacks deb and runs its program rel, returning its output.
func runPackaged(t *testing.T, deb, rel string) string {
	t.Helper()
	out, err := exec.Command(unpackedFile(t, deb, rel)).CombinedOutput()
	if err != nil {
		t.Fatalf("%s from %s: %v\n%s", rel, deb, err, out)
	}
	return strings.TrimSpace(string(out))
}
