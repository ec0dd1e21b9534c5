//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// A runaway build step is stopped by its spec's limits, and the error
// names the limit and how to raise it: a step that grows its memory past
// limits.memory, and one that runs past limits.step_time. The same steps
// with the limits raised build.
func TestBuildLimitsStopRunawaySteps(t *testing.T) {
	cases := []struct {
		name, step, limits, raised, want string
	}{
		// sort holds a line whole: 300 MB of one line needs 300 MB.
		{"memory", `head -c 300000000 /dev/zero | tr '\\0' x | sort > /dev/null`, "memory: 64MiB", "memory: 2GiB", "limits.memory (64MiB)"},
		{"time", "sleep 30", "step_time: 2s", "step_time: 1m", "limits.step_time (2s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			specs := tempDir(t)
			sh(t, "cp", "-a", "testdata/specs/debforge.yaml", "testdata/specs/src", specs)
			write := func(limits string) {
				spec := `name: runaway
version: 1.0.0
summary: a build step that does not stop
description: |
  Test fixture.
license: Apache-2.0
copyright: 2026 The debforge authors
source:
  dir: src/scripthello
limits: {` + limits + `}
build:
  kind: script
  steps:
    - ` + tc.step + `
    - install -D -m 0755 "$SRC/scripthello.sh" "$DESTDIR/usr/bin/runaway"
package:
  architecture: all
`
				testutil.Must(t, os.WriteFile(filepath.Join(specs, "runaway.yaml"), []byte(spec), 0o644))
			}
			write(tc.limits)
			e := newEnv(t, specs)
			r := e.run(t, "build", "runaway")
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "raise it in the spec") || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, want exit 1 naming %s with the hint:\n%s", r.code, r.stdout, tc.want, r.stderr)
			}
			write(tc.raised)
			if tc.name == "time" {
				write(tc.raised)
				testutil.Must(t, os.WriteFile(filepath.Join(specs, "runaway.yaml"), []byte(strings.Replace(string(mustRead(t, filepath.Join(specs, "runaway.yaml"))), "sleep 30", "sleep 3", 1)), 0o644))
			}
			if r := e.run(t, "build", "runaway"); r.code != 0 {
				t.Errorf("with %s (exit %d):\n%s", tc.raised, r.code, r.stderr)
			}
		})
	}
}
