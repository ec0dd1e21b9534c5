package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/forge"
)

// Issue 11 item 9: a component skipped because its prerequisite failed
// is not counted as failed, and its line says "skipped:" once.
func TestSummaryCountsSkippedApart(t *testing.T) {
	specs := specsDir(t, map[string]string{
		// A meta-package whose extra file is missing fails at packaging.
		"aa": "package:\n  contents:\n    - {src: missing, dst: /usr/share/aa/missing}\n",
		"bb": "after: [aa]\n",
	})
	code, _, stderr := run(t, specs, "build", "all")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "2 components, 1 failed, 1 skipped") {
		t.Errorf("summary does not count the skipped component apart:\n%s", stderr)
	}
	if strings.Contains(stderr, "skipped: skipped:") {
		t.Errorf("\"skipped: skipped:\" in:\n%s", stderr)
	}
	if !strings.Contains(stderr, "skipped: needs aa, which failed") {
		t.Errorf("no skip reason in:\n%s", stderr)
	}
}

// Issue 11 item 9: validate refuses what packaging would: a license
// Debian does not ship without license_file, at the license's position.
func TestValidateLicenseNeedsText(t *testing.T) {
	specs := specsDir(t, map[string]string{
		"aa": "source: {dir: .}\nbuild: {kind: script, steps: [\"true\"]}\n",
		"bb": "license_file: LICENSE\nsource: {dir: .}\nbuild: {kind: script, steps: [\"true\"]}\n",
		"cc": "after: [zz]\n",
	})
	code, stdout, stderr := run(t, specs, "validate")
	if code != 2 {
		t.Fatalf("exit %d, want 2:\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		`aa.yaml:5:10: license: "MIT" is not in /usr/share/common-licenses`,
		"(set license_file to the license text in the source",
		`cc.yaml:6:9: after[0]: unknown component "zz"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "bb.yaml") {
		t.Errorf("license_file given, yet bb is refused:\n%s", stderr)
	}
}

// Issue 15 item 2: progress lines name the worker a build runs on, and
// the live view keeps it beside the component.
func TestProgressNamesTheWorker(t *testing.T) {
	var out strings.Builder
	p := newProgress(&out)
	p.event(forge.Event{Component: "hello-go", Stage: forge.StageBuild, Worker: "tcp://builder-1:1234"})
	p.event(forge.Event{Component: "hello-make", Stage: forge.StageBuild})
	if !regexp.MustCompile(`(?m)^\[ *[0-9.]+s\] hello-go +build on tcp://builder-1:1234$`).MatchString(out.String()) {
		t.Errorf("no worker in the progress line:\n%s", out.String())
	}
	if !regexp.MustCompile(`(?m)^\[ *[0-9.]+s\] hello-make +build$`).MatchString(out.String()) {
		t.Errorf("a local build's line names a worker:\n%s", out.String())
	}
	p.live = true
	p.event(forge.Event{Component: "hello-go", Stage: forge.StageBuild, Worker: "tcp://builder-2:1234"})
	if !strings.Contains(out.String(), "s on tcp://builder-2:1234\n") {
		t.Errorf("the live view does not name the worker:\n%q", out.String())
	}
}
