//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/testutil"
)

// stagedSpec is a script whose test checks what it prints; GREETING and
// VERSION-REVISION are replaced to make each version.
const stagedSpec = `name: hello-staged
version: VERSION
revision: "REVISION"
summary: fixture promoted once its test passes
description: A shell script whose test checks what it prints.
license: Apache-2.0
source: {dir: src/scripthello}
build:
  kind: script
  steps:
    - mkdir -p "$DESTDIR/usr/bin"
    - printf '#!/bin/sh\necho GREETING\n' > "$DESTDIR/usr/bin/staged"
    - chmod 0755 "$DESTDIR/usr/bin/staged"
package:
  architecture: all
  lintian_overrides: [{tag: no-manual-page, reason: A test fixture.}]
tests:
  - name: greets
    run: test "$(staged)" = hello
`

// needsMissingSpec has no tests to wait for, and would leave a host
// following the release unable to install it.
const needsMissingSpec = `name: hello-needs-missing
version: 1.0.0
summary: fixture no host can install
description: Depends on a package no suite provides.
license: Apache-2.0
package:
  depends: [no-such-package-anywhere]
`

// updateRows maps "ACTION COMPONENT" to the rest of each row of
// debforge update's (or promote's) output.
func updateRows(stdout string) map[string]string {
	rows := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			rows[f[0]+" "+f[1]] = strings.Join(f[2:], " ")
		}
	}
	return rows
}

// With staging, a version reaches the release's suite only once its
// tests passed on every target and the suite stays installable: a
// version whose test fails stays in staging (a host following the
// release sees no change, the front page shows the failure), a package
// whose Depends nothing provides is refused with the relation named, and
// the fixed version is promoted by update.
func TestStagingPromotesOnlyTestedInstallableVersions(t *testing.T) {
	testutil.RequireTool(t, "mmdebstrap", "bwrap", "dpkg-deb")
	testutil.Binfmt(t, "arm64")
	specs := filepath.Join(tempDir(t), "specs")
	sh(t, "mkdir", "-p", specs)
	sh(t, "cp", "-a", "testdata/specs/src", specs)
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"debforge tests <tests@example.org>\"\n"+
		"label: staged\nkey_name: staged-archive-keyring\ntargets: [bookworm/amd64, bookworm/arm64]\nstaging: true\n"), 0o644))
	writeStaged := func(version, revision, greeting string) {
		text := strings.NewReplacer("VERSION", version, "REVISION", revision, "GREETING", greeting).Replace(stagedSpec)
		testutil.Must(t, os.WriteFile(filepath.Join(specs, "hello-staged.yaml"), []byte(text), 0o644))
	}
	writeStaged("1.0.0", "1", "hello")
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "hello-needs-missing.yaml"), []byte(needsMissingSpec), 0o644))
	e := newEnv(t, specs)
	repo := filepath.Join(e.out, "repo")

	first := e.run(t, "update")
	rows := updateRows(first.stdout)
	if first.code != 10 || rows["promoted hello-staged"] != "bookworm 1.0.0-1+deb12" ||
		!strings.Contains(rows["held hello-needs-missing"], "would not install on bookworm/amd64: hello-needs-missing : Depends: no-such-package-anywhere but it is not installable") {
		t.Fatalf("first update: exit %d, want 10 with hello-staged promoted and hello-needs-missing held\n%s\n%s", first.code, first.stdout, first.stderr)
	}
	if feed := string(mustRead(t, filepath.Join(repo, "promotions.atom"))); !strings.Contains(feed, "<title>hello-staged 1.0.0-1+deb12 promoted to bookworm</title>") {
		t.Errorf("the feed lacks the promotion:\n%s", feed)
	}
	// By name too, with promote or update (which tests nothing: the
	// component has no tests).
	for _, cmd := range []string{"promote", "update"} {
		refused := e.run(t, cmd, "hello-needs-missing")
		if refused.code != 10 || !strings.Contains(refused.stdout, "Depends: no-such-package-anywhere but it is not installable") {
			t.Errorf("%s of the uninstallable package: exit %d, want 10 naming the relation\n%s%s", cmd, refused.code, refused.stdout, refused.stderr)
		}
	}
	for suite, want := range map[string]string{
		"bookworm":         "hello-staged 1.0.0-1+deb12 all, staged-archive-keyring",
		"bookworm-staging": "hello-needs-missing 1.0.0-1+deb12 all, hello-staged 1.0.0-1+deb12 all, staged-archive-keyring",
	} {
		if got := indexRows(t, repo, suite, "amd64"); got != want {
			t.Errorf("%s lists %q, want %q", suite, got, want)
		}
	}

	listed := e.run(t, "list", "--repo", repo, "--keyring", filepath.Join(repo, "staged-archive-keyring.gpg"))
	if listed.code != 0 || !regexp.MustCompile(`hello-needs-missing +1\.0\.0-1\+deb12 +bookworm-staging `).MatchString(listed.stdout) ||
		regexp.MustCompile(`hello-needs-missing +1\.0\.0-1\+deb12 +bookworm `).MatchString(listed.stdout) {
		t.Errorf("list --repo: exit %d, want both suites, the held package in staging only\n%s%s", listed.code, listed.stdout, listed.stderr)
	}

	// A host following the release installs the promoted version.
	host := rootfs(t, "bookworm")
	useSources(t, host, repo, "staged-archive-keyring-bookworm.sources")
	if out, err := inRoot(host, "apt-get", "install", "-y", "hello-staged"); err != nil {
		t.Fatalf("install from the release: %v\n%s", err, out)
	}

	// A new version whose test fails stays in staging.
	writeStaged("2.0.0", "1", "broken")
	broken := e.run(t, "update", "hello-staged")
	if broken.code != 10 || !strings.Contains(updateRows(broken.stdout)["held hello-staged"], "bookworm 2.0.0-1+deb12: tests failed on bookworm/amd64: test greets failed: exit status 1") {
		t.Fatalf("update of the broken version: exit %d, want 10 with it held for its test\n%s\n%s", broken.code, broken.stdout, broken.stderr)
	}
	if v := upgradedVersion(t, host, repo, "hello-staged"); v != "1.0.0-1+deb12" {
		t.Errorf("a host following the release upgraded to %s, a version whose test failed", v)
	}
	page := string(mustRead(t, filepath.Join(repo, "index.html")))
	if want := `<a class="test" data-status="failed" data-arch="amd64" href="tests/bookworm-amd64/hello-staged_2.0.0-1&#43;deb12.log"`; !strings.Contains(page, want) {
		t.Errorf("front page lacks the failed test's link %s", want)
	}

	// The fix: the plan changes nothing, then update promotes it.
	writeStaged("2.0.0", "2", "hello")
	before := treeHash(t, e.out)
	plan := e.run(t, "update", "--dry-run", "hello-staged")
	// hello-staged is Architecture: all: built once, for amd64.
	if plan.code != 0 || !strings.Contains(plan.stdout, "would build  hello-staged@bookworm/amd64") || strings.Contains(plan.stdout, "@bookworm/arm64") || treeHash(t, e.out) != before {
		t.Errorf("update --dry-run: exit %d, want 0 with the build planned and nothing changed\n%s\n%s", plan.code, plan.stdout, plan.stderr)
	}
	fixed := e.run(t, "update", "hello-staged")
	if fixed.code != 0 || updateRows(fixed.stdout)["promoted hello-staged"] != "bookworm 2.0.0-2+deb12" {
		t.Fatalf("update of the fixed version: exit %d, want 0 with it promoted\n%s\n%s", fixed.code, fixed.stdout, fixed.stderr)
	}
	if v := upgradedVersion(t, host, repo, "hello-staged"); v != "2.0.0-2+deb12" {
		t.Errorf("after the fix was promoted the host has %s, want 2.0.0-2+deb12", v)
	}
}

// indexRows lists "name version arch" of a suite's index for arch,
// sorted; the keyring by name only (its version is a date).
func indexRows(t *testing.T, repo, suite, arch string) string {
	t.Helper()
	data := mustRead(t, filepath.Join(repo, "dists", suite, "main", "binary-"+arch, "Packages"))
	var rows []string
	for _, st := range aptrepo.ParseStanzas(data) {
		name := debfile.FieldValue(st, "Package")
		if name == "staged-archive-keyring" {
			rows = append(rows, name)
			continue
		}
		rows = append(rows, name+" "+debfile.FieldValue(st, "Version")+" "+debfile.FieldValue(st, "Architecture"))
	}
	sort.Strings(rows)
	return strings.Join(rows, ", ")
}

// upgradedVersion is pkg's version in root after apt-get update and
// upgrade with the repository as it is now, following bookworm.
func upgradedVersion(t *testing.T, root, repo, pkg string) string {
	t.Helper()
	useSources(t, root, repo, "staged-archive-keyring-bookworm.sources")
	if out, err := inRoot(root, "apt-get", "upgrade", "-y"); err != nil {
		t.Fatalf("upgrade: %v\n%s", err, out)
	}
	out, err := inRoot(root, "dpkg-query", "-W", "-f", "${Version}", pkg)
	if err != nil {
		t.Fatalf("dpkg-query %s: %v\n%s", pkg, err, out)
	}
	return out
}
