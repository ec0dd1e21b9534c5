// Package pkgtest runs a component's tests (a spec's tests:) against its
// published package, as Debian's autopkgtest runs a package's tests
// against the installed package: in a throwaway tree over a clean root of
// the target, with the package installed by apt from the signed
// repository a host would use, verified with the repository's own key.
//
// A result is kept by a key over what it depends on (the clean root's
// package set, the package and what installing it could take from the
// repository, and the test text), so a test that nothing changed for is
// not run again.
package pkgtest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// Status is a test's or a package's outcome on one target.
type Status string

// Outcomes. NotRun is never a pass: the target could not run the test.
const (
	Passed Status = "passed"
	Failed Status = "failed"
	NotRun Status = "not run"
)

// DefaultTimeout bounds each test command.
const DefaultTimeout = 10 * time.Minute

// Result is one package's tests on one target.
type Result struct {
	Package string `json:"package"`
	Version string `json:"version"`
	Target  string `json:"target"`
	Status  Status `json:"status"`
	// Reason says why it was not run, or which test failed.
	Reason  string       `json:"reason,omitempty"`
	Seconds float64      `json:"seconds"`
	Tests   []TestResult `json:"tests,omitempty"`
	Key     string       `json:"key"`
	// Cached is set when the result was kept from an earlier run.
	Cached bool `json:"-"`
	// Log is the file with the whole output (apt's and each test's).
	Log string `json:"-"`
}

// TestResult is one test command's outcome.
type TestResult struct {
	Name     string  `json:"name"`
	Status   Status  `json:"status"`
	ExitCode int     `json:"exit_code"`
	Seconds  float64 `json:"seconds"`
}

// Tester runs tests against the packages of one published repository.
type Tester struct {
	// Roots holds the clean roots tests start from (Variant "apt").
	Roots *buildroot.Store
	// RepoDir is the published repository (out/repo); Component its
	// archive component and KeyName the name of its key files.
	RepoDir, Component, KeyName string
	// CacheDir keeps results and logs by key, and the throwaway trees.
	CacheDir string
	// ResultsDir gets each package's latest result and log per target
	// (out/repo/tests, aptrepo.TestsDir).
	ResultsDir string
	Runner     execx.Runner
	// Timeout bounds each test command; default DefaultTimeout.
	Timeout time.Duration
	// HostArch is this machine's Debian architecture: another runs
	// under qemu-user, when binfmt_misc allows it.
	HostArch string

	mu sync.Mutex
	// fetched are the package lists of each target in this run; Close
	// removes them.
	fetched map[string]*targetLists
}

// Target is where a package is tested: a release and architecture, and
// the dists/<Codename> of the repository that publishes it. Results go
// to tests/<Codename>-<arch>/.
type Target struct {
	buildroot.Target
	Codename string
	// Suite, when set, is the dists/<Suite> apt installs from instead
	// (the release's staging suite).
	Suite string
}

// suite is the dists/ directory apt installs t's packages from.
func (t Target) suite() string { return cmp.Or(t.Suite, t.Codename) }

// Run tests c's package as published for t, or returns the result kept
// under the same key. An error is a failure to test (no package
// published, no root); a test that fails is a Result with Status Failed.
func (tr *Tester) Run(ctx context.Context, c *spec.Component, t Target, progress io.Writer) (*Result, error) {
	pub, err := tr.published(c, t)
	if err != nil {
		return nil, err
	}
	res := &Result{Package: pub.Name, Version: pub.Version, Target: t.String()}
	if why := tr.cannotRun(t.Arch); why != "" {
		res.Status, res.Reason = NotRun, why
		return res, tr.publishNotRun(res, t)
	}
	base, err := tr.Roots.Ensure(ctx, t.Target, nil, progress)
	if err != nil {
		return nil, fmt.Errorf("test %s on %s: clean root: %w", pub.Name, t, err)
	}
	tests, err := expandTests(c)
	if err != nil {
		return nil, err
	}
	res.Key = testKey(base.Key, pub, tests)
	if kept, ok := tr.kept(res.Key); ok {
		return kept, tr.publishResult(kept, t)
	}
	if err := tr.runFresh(ctx, res, pub, tests, base, t); err != nil {
		return nil, err
	}
	return res, tr.publishResult(res, t)
}

// runFormat names how tests run (the sandbox's namespaces and binds):
// raise it when that changes, so that no result of the old way is kept.
const runFormat = 3

// testKey hashes what a result depends on: the clean root's exact
// package set, the package and what apt could install with it from the
// repository, and the tests. The mirror's packages for dependencies and
// needs are taken as the root's release pins them.
func testKey(rootKey string, pub published, tests []spec.Test) string {
	data, _ := json.Marshal(struct {
		Format         int
		Root, FromRepo string
		Package, Deb   string
		Version, Tests any
	}{runFormat, rootKey, pub.FromRepo, pub.Name, pub.SHA256, pub.Version, tests})
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// expandTests returns c's tests with templates in run expanded.
func expandTests(c *spec.Component) ([]spec.Test, error) {
	out := make([]spec.Test, len(c.Tests))
	for i, t := range c.Tests {
		run, err := spec.Expand(t.Run, c.Template())
		if err != nil {
			return nil, fmt.Errorf("%s: tests[%d].run: %w", c.File, i, err)
		}
		t.Run = run
		out[i] = t
	}
	return out, nil
}

// workDir makes a new directory for t's scratch work (a tree, lists,
// an installability check) under CacheDir/work, which clean empties.
func (tr *Tester) workDir(prefix string, t Target) (string, error) {
	work := filepath.Join(tr.CacheDir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(work, prefix+t.Release+"-"+t.Arch+"-")
}

// keptDir holds results by key.
func (tr *Tester) keptDir() string { return filepath.Join(tr.CacheDir, "results") }

// kept returns the result stored under key, if its log is there too.
func (tr *Tester) kept(key string) (*Result, bool) {
	data, err := os.ReadFile(filepath.Join(tr.keptDir(), key+".json"))
	if err != nil {
		return nil, false
	}
	var r Result
	if json.Unmarshal(data, &r) != nil || r.Key != key {
		return nil, false
	}
	r.Log = filepath.Join(tr.keptDir(), key+".log")
	if _, err := os.Stat(r.Log); err != nil {
		return nil, false
	}
	r.Cached = true
	return &r, true
}

// publishResult copies r and its log to ResultsDir/<codename>-<arch>/
// (the front page links them from there), and points r.Log at the copy.
func (tr *Tester) publishResult(r *Result, t Target) error {
	base := tr.resultBase(r, t)
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(r, "", "  ")
	if r.Log != "" {
		log, err := os.ReadFile(r.Log)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(base+".log", log, 0o644); err != nil {
			return err
		}
		r.Log = base + ".log"
	}
	return atomicfile.Write(base+".json", append(data, '\n'), 0o644)
}

// publishNotRun publishes a result of tests this host could not run,
// unless a result of the same package version is published already: a
// run on a host that could run them says more.
func (tr *Tester) publishNotRun(r *Result, t Target) error {
	if _, err := os.Stat(tr.resultBase(r, t) + ".json"); err == nil {
		return nil
	}
	return tr.publishResult(r, t)
}

// resultBase is where r is published, without its extension.
func (tr *Tester) resultBase(r *Result, t Target) string {
	return filepath.Join(tr.ResultsDir, filepath.FromSlash(aptrepo.TestResultName(t.Codename, t.Arch, r.Package, r.Version)))
}
