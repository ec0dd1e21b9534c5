package forge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/pkgtest"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// stagedRepo writes a repository whose bookworm-staging lists hello
// 1.0-1+deb12 for amd64 and arm64, and test results of it per target.
func stagedRepo(t *testing.T, results map[string]string) string {
	t.Helper()
	repo := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		dir := filepath.Join(repo, "dists", "bookworm-staging", "main", "binary-"+arch)
		testutil.Must(t, os.MkdirAll(dir, 0o755))
		testutil.Must(t, os.WriteFile(filepath.Join(dir, "Packages"), []byte("Package: hello\nVersion: 1.0-1+deb12\nArchitecture: "+arch+"\n\n"), 0o644))
	}
	for target, status := range results {
		dir := filepath.Join(repo, aptrepo.TestsDir, target)
		testutil.Must(t, os.MkdirAll(dir, 0o755))
		testutil.Must(t, os.WriteFile(filepath.Join(dir, "hello_1.0-1+deb12.json"), []byte(status), 0o644))
	}
	return repo
}

func helloCandidate(hasTests bool) *candidate {
	c := &spec.Component{Name: "hello", Version: "1.0", Revision: "1+deb12"}
	var ts []pkgtest.Target
	for _, a := range []string{"amd64", "arm64"} {
		ts = append(ts, pkgtest.Target{Target: buildroot.Target{Release: "bookworm", Arch: a}, Codename: "bookworm"})
	}
	return &candidate{c: c, release: "bookworm", targets: ts, pkg: "hello", arch: "any", hasTests: hasTests,
		stanzas: map[string][]aptrepo.Field{}, outcome: &PromoteOutcome{Component: "hello", Release: "bookworm", Version: "1.0-1+deb12"}}
}

// A version waits for a pass on every target it is built for: a target
// not tested, one whose tests were not run (no emulation) and one whose
// tests failed each hold it, naming the target; a component without
// tests has none to wait for; one promoted before is left as it is.
func TestPromotionWaitsForEveryTargetsTests(t *testing.T) {
	passed, notRun, failed := `{"status": "passed"}`, `{"status": "not run", "reason": "no binfmt_misc"}`, `{"status": "failed", "reason": "test greets failed: exit status 1"}`
	for _, tc := range []struct {
		name     string
		results  map[string]string
		hasTests bool
		want     string
	}{
		{"passed everywhere", map[string]string{"bookworm-amd64": passed, "bookworm-arm64": passed}, true, ""},
		{"not tested on arm64", map[string]string{"bookworm-amd64": passed}, true, "held: not tested on bookworm/arm64: run debforge test hello"},
		{"not run on arm64", map[string]string{"bookworm-amd64": passed, "bookworm-arm64": notRun}, true, "held: tests not run on bookworm/arm64: no binfmt_misc"},
		{"failed on amd64", map[string]string{"bookworm-amd64": failed, "bookworm-arm64": passed}, true, "held: tests failed on bookworm/amd64: test greets failed: exit status 1"},
		{"no tests", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := stagedRepo(t, tc.results)
			cd := helloCandidate(tc.hasTests)
			testutil.Must(t, findInStaging(repo, "main", cd, nil))
			if len(cd.stanzas) != 2 || cd.outcome.Status != "" {
				t.Fatalf("found %d stanzas, status %q", len(cd.stanzas), cd.outcome.Status)
			}
			holdUntested(repo, cd)
			got := ""
			if cd.outcome.Status != "" {
				got = string(cd.outcome.Status) + ": " + cd.outcome.Reason
			}
			if !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	repo := stagedRepo(t, nil)
	cd := helloCandidate(true)
	testutil.Must(t, findInStaging(repo, "main", cd, map[string]bool{"hello_1.0-1+deb12_amd64": true, "hello_1.0-1+deb12_arm64": true}))
	if cd.outcome.Status != AlreadyStable {
		t.Errorf("promoted before: status %q, want stable", cd.outcome.Status)
	}
	cd = helloCandidate(true)
	cd.outcome.Version = "2.0-1+deb12"
	testutil.Must(t, findInStaging(repo, "main", cd, nil))
	if cd.outcome.Status != Held || !strings.Contains(cd.outcome.Reason, "not in bookworm-staging for amd64: build it first") {
		t.Errorf("a version not built: %q %q", cd.outcome.Status, cd.outcome.Reason)
	}
}

// What apt is asked to install from a suite is each package's newest
// version in it.
func TestNewestOfEachPackageIsChecked(t *testing.T) {
	idx := aptrepo.ParseStanzas([]byte("Package: a\nVersion: 1.0-1\n\nPackage: a\nVersion: 1.0-10\n\nPackage: b\nVersion: 2~rc1\n\nPackage: a\nVersion: 1.0-2\n"))
	if got := strings.Join(newestOf(idx), " "); got != "a=1.0-10 b=2~rc1" {
		t.Errorf("newestOf = %s", got)
	}
	if got := string(renderIndex(idx[:1])); got != "Package: a\nVersion: 1.0-1\n\n" {
		t.Errorf("renderIndex = %q", got)
	}
}
