//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"

	"gopkg.in/yaml.v3"
)

// testedSpecs are three fixtures with tests, built for bookworm on amd64
// and arm64: one whose tests pass (as the test user and as root, some
// that try to reach the network, the host's devices and the clean root
// their tree is made from, one that finds its Recommends left out, and a
// native one), one whose test fails, and a meta-package no host could
// install.
const testedSpecs = `
- name: hello-tested
  file: |
    name: hello-tested
    version: 1.0.0
    summary: fixture whose tests pass
    description: A shell script with tests.
    license: Apache-2.0
    source: {dir: src/scripthello}
    build:
      kind: script
      steps: ['install -D -m 0755 "$SRC/scripthello.sh" "$DESTDIR/usr/bin/scripthello"']
    package:
      architecture: all
      recommends: [cpio]
      lintian_overrides: [{tag: no-manual-page, reason: A test fixture.}]
    tests:
      - name: runs
        run: scripthello && uname -m && id -un && test "$(id -un)" = debforge-test && touch "$HOME/ok"
      - name: recommends-left-out
        run: test "$(dpkg-query -W -f '${db:Status-Status}' cpio)" = not-installed
      - name: user-cannot-write-usr
        run: "! touch /usr/bin/scripthello"
      - name: root-has-no-host-privilege
        root: true
        run: test "$(id -u)" = 0 && ! mknod /tmp/disk b 8 0
      - name: root-may-break-its-copy
        root: true
        run: rm -f /usr/bin/apt-get /usr/bin/scripthello
      - name: no-network
        run: test "$(grep -c ':' /proc/net/dev)" = 1
      - name: native-only
        native: true
        run: test "$(uname -m)" = x86_64
- name: hello-untested-fails
  file: |
    name: hello-untested-fails
    version: 1.0.0
    summary: fixture whose test fails
    description: A shell script whose test fails.
    license: Apache-2.0
    source: {dir: src/scripthello}
    build:
      kind: script
      steps: ['install -D -m 0755 "$SRC/scripthello.sh" "$DESTDIR/usr/bin/scripthello-fails"']
    package:
      architecture: all
      lintian_overrides: [{tag: no-manual-page, reason: A test fixture.}]
    tests:
      - name: broken
        run: echo "the marker line of a failed test"; exit 3
      - name: after-the-failure
        run: "true"
- name: hello-uninstallable
  file: |
    name: hello-uninstallable
    version: 1.0.0
    summary: fixture no host can install
    description: Depends on a package no suite provides.
    license: Apache-2.0
    package:
      depends: [no-such-package-anywhere]
    tests:
      - name: never-runs
        run: "true"
`

type testedSpec struct{ Name, File string }

// A package's tests run with the package installed by apt from the
// published repository into a tree over a clean root of each target,
// arm64 under qemu-user; a failed test, a package apt cannot install and
// a changed test are each reported as such, and results nothing changed
// for are kept (a failed install is not: it is tried again).
func TestPackageTestsRunInstalledOnEachTarget(t *testing.T) {
	testutil.RequireTool(t, "mmdebstrap", "bwrap", "dpkg-deb")
	testutil.Binfmt(t, "arm64")
	dir := tempDir(t)
	specs := filepath.Join(dir, "specs")
	sh(t, "mkdir", "-p", specs)
	sh(t, "cp", "-a", "testdata/specs/src", specs)
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte(
		"maintainer: \"debforge tests <tests@example.org>\"\nlabel: tested\nkey_name: tested-archive-keyring\ntargets: [bookworm/amd64, bookworm/arm64]\n"), 0o644))
	var fixtures []testedSpec
	testutil.Must(t, yaml.Unmarshal([]byte(testedSpecs), &fixtures))
	for _, f := range fixtures {
		testutil.Must(t, os.WriteFile(filepath.Join(specs, f.Name+".yaml"), []byte(f.File), 0o644))
	}
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}

	r := e.run(t, "test")
	if r.code != 1 {
		t.Fatalf("test: exit %d, want 1 (a test fails)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rows := testRows(t, r.stdout)
	for target, tested := range map[string]string{"bookworm/amd64": "passed", "bookworm/arm64": "passed: not run under qemu-user: native-only"} {
		want := map[string]string{
			"hello-tested":         tested,
			"hello-untested-fails": "failed: test broken failed: exit status 3",
			"hello-uninstallable":  "failed: apt could not install it (see the log)",
		}
		for comp, result := range want {
			if got := rows[comp+"@"+target].result; got != result {
				t.Errorf("%s on %s: %q, want %q\n%s", comp, target, got, result, r.stdout)
			}
		}
	}
	logOf := func(target, pkg string) string {
		data, err := os.ReadFile(filepath.Join(e.out, "repo", "tests", target, pkg+"_1.0.0-1+deb12.log"))
		testutil.Must(t, err)
		return string(data)
	}
	for target, machine := range map[string]string{"bookworm-amd64": "x86_64", "bookworm-arm64": "aarch64"} {
		log := logOf(target, "hello-tested")
		for _, want := range []string{"scripthello", "\n" + machine + "\ndebforge-test\n", "== test no-network passed", "/out/repo bookworm InRelease"} {
			if !strings.Contains(log, want) {
				t.Errorf("%s log of hello-tested lacks %q:\n%s", target, want, log)
			}
		}
		if log := logOf(target, "hello-untested-fails"); !strings.Contains(log, "the marker line of a failed test") || !strings.Contains(log, "== test after-the-failure passed") {
			t.Errorf("%s log of the failed test lacks its output or the test after it:\n%s", target, log)
		}
		if log := logOf(target, "hello-uninstallable"); !strings.Contains(log, "no-such-package-anywhere") {
			t.Errorf("%s log of the uninstallable package lacks apt's reason:\n%s", target, log)
		}
	}
	var res struct {
		Status string
		Tests  []struct {
			Name, Status string
			ExitCode     int `json:"exit_code"`
		}
	}
	data, err := os.ReadFile(filepath.Join(e.out, "repo", "tests", "bookworm-arm64", "hello-untested-fails_1.0.0-1+deb12.json"))
	testutil.Must(t, err)
	testutil.Must(t, json.Unmarshal(data, &res))
	if res.Status != "failed" || len(res.Tests) != 2 || res.Tests[0].ExitCode != 3 || res.Tests[1].Status != "passed" {
		t.Errorf("result file: %s", data)
	}
	// The front page, published again, shows each result and links its log.
	page, err := os.ReadFile(filepath.Join(e.out, "repo", "index.html"))
	testutil.Must(t, err)
	for _, want := range []string{
		`<a class="test" data-status="passed" data-arch="amd64" href="tests/bookworm-amd64/hello-tested_1.0.0-1&#43;deb12.log">tests amd64: passed</a>`,
		`<a class="test" data-status="failed" data-arch="arm64" href="tests/bookworm-arm64/hello-untested-fails_1.0.0-1&#43;deb12.log" title="test broken failed: exit status 3">tests arm64: failed</a>`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("front page lacks %s", want)
		}
	}
	// What the tests did to their copies left the clean roots as they were.
	for _, arch := range []string{"amd64", "arm64"} {
		if _, err := os.Stat(filepath.Join(os.Getenv("DEBFORGE_ROOTS_DIR"), "bookworm-"+arch, "base-apt", "rootfs", "usr/bin/apt-get")); err != nil {
			t.Errorf("a root test's rm reached the clean root: %v", err)
		}
	}

	again := e.run(t, "test", "hello-tested")
	if again.code != 0 {
		t.Fatalf("test hello-tested: exit %d\n%s\n%s", again.code, again.stdout, again.stderr)
	}
	for _, row := range testRows(t, again.stdout) {
		if !strings.HasPrefix(row.result, "passed") || !strings.HasSuffix(row.result, " (cached)") {
			t.Errorf("unchanged %s on %s: %q, want it kept from the first run", row.component, row.target, row.result)
		}
	}

	// A package apt could not install is tried again: the mirror may
	// only have been out of reach.
	retried := e.run(t, "test", "--target", "bookworm/amd64", "hello-uninstallable")
	if row := testRows(t, retried.stdout)["hello-uninstallable@bookworm/amd64"]; retried.code != 1 || row.result != "failed: apt could not install it (see the log)" {
		t.Errorf("uninstallable again: exit %d, row %q, want the install tried again and failed, not kept", retried.code, row.result)
	}

	// A changed test is run again.
	spec := filepath.Join(specs, "hello-tested.yaml")
	text, err := os.ReadFile(spec)
	testutil.Must(t, err)
	testutil.Must(t, os.WriteFile(spec, []byte(strings.Replace(string(text), "touch \"$HOME/ok\"", "touch \"$HOME/ok2\"", 1)), 0o644))
	changed := e.run(t, "test", "--target", "bookworm/amd64", "hello-tested")
	if row := testRows(t, changed.stdout)["hello-tested@bookworm/amd64"]; changed.code != 0 || row.result != "passed" {
		t.Errorf("changed test: exit %d, row %q, want passed and not cached\n%s", changed.code, row.result, changed.stderr)
	}
}
