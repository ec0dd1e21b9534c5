package aptrepo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/filehash"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// The SBOM written beside a .deb enters the pool with it (also when the
// .deb is already there), and leaves the pool when the .deb is pruned.
func TestSBOMTravelsWithItsDeb(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	cfg.Keep = 1
	pooled := func(version string) (deb, sbomPath string) {
		work := t.TempDir()
		c := &spec.Component{Name: "hello", Version: version, Revision: "1", Summary: "s", Description: "d.",
			License: "Apache-2.0", Copyright: "2026 test", Maintainer: "Test <t@example.org>", Changes: "c.", File: "t.yaml",
			Package: &spec.Package{Name: "hello", Section: "misc", Priority: "optional", Architecture: "all", Compression: "gzip"}}
		built, err := packaging.Build(packaging.Input{Component: c, WorkDir: filepath.Join(work, "w"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, work)
		if err != nil {
			t.Fatal(err)
		}
		side := strings.TrimSuffix(built, ".deb") + ".spdx.json"
		if err := os.WriteFile(side, []byte(`{"name":"`+version+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		deb, isNew, err := AddToPool(repo, "main", built)
		if err != nil || !isNew {
			t.Fatalf("AddToPool: new=%v %v", isNew, err)
		}
		sbomPath = strings.TrimSuffix(deb, ".deb") + ".spdx.json"
		if data, err := os.ReadFile(sbomPath); err != nil || !strings.Contains(string(data), version) {
			t.Fatalf("SBOM not carried into the pool: %v %q", err, data)
		}
		// The same .deb again, its pooled SBOM lost: it comes back.
		os.Remove(sbomPath)
		if _, isNew, err := AddToPool(repo, "main", built); err != nil || isNew {
			t.Fatalf("re-add: new=%v %v", isNew, err)
		}
		if _, err := os.Stat(sbomPath); err != nil {
			t.Fatalf("re-adding the .deb did not restore its SBOM: %v", err)
		}
		// An identical rebuild with another record beside it (a later
		// build date, another root): the published record stays, as the
		// .deb does; a published file never changes.
		if err := os.WriteFile(side, []byte(`{"name":"rebuilt"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, isNew, err := AddToPool(repo, "main", built); err != nil || isNew {
			t.Fatalf("re-add: new=%v %v", isNew, err)
		}
		if data, _ := os.ReadFile(sbomPath); !strings.Contains(string(data), version) {
			t.Fatalf("an identical rebuild replaced the published SBOM: %q", data)
		}
		return deb, sbomPath
	}
	oldDeb, oldSBOM := pooled("1.0")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	newDeb, newSBOM := pooled("2.0")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{oldDeb, oldSBOM} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s outlived the prune of its .deb: %v", filepath.Base(p), err)
		}
	}
	for _, p := range []string{newDeb, newSBOM} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("kept package lost %s: %v", filepath.Base(p), err)
		}
	}
}

// The pool keeps a published .deb: the same bytes again are not new,
// other bytes under its name are refused, whether their size differs or
// not, and the pooled file is left as it was.
func TestAddToPoolRefusesOtherBytesUnderAPublishedName(t *testing.T) {
	repo := t.TempDir()
	work := t.TempDir()
	c, built := helloDeb(t, work)
	deb, isNew, err := AddToPool(repo, "main", built)
	if err != nil || !isNew {
		t.Fatalf("first add: new=%v %v", isNew, err)
	}
	if _, isNew, err := AddToPool(repo, "main", built); err != nil || isNew {
		t.Fatalf("the same bytes again: new=%v %v", isNew, err)
	}
	published, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	// A rebuild with another description: a .deb of another size.
	c.Description = "another description, so another size."
	rebuilt, err := packaging.Build(packaging.Input{Component: c, WorkDir: filepath.Join(work, "w2"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	longer, err := os.ReadFile(rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	sameSize := append([]byte{}, published...)
	sameSize[len(sameSize)-1] ^= 0xff // the last byte of data.tar's padding or compressed stream
	for name, data := range map[string][]byte{"same size": sameSize, "another size": longer} {
		other := filepath.Join(t.TempDir(), filepath.Base(built))
		if err := os.WriteFile(other, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var ce *ChangedError
		if _, _, err := AddToPool(repo, "main", other); !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a ChangedError", name, err)
		}
		if now, err := os.ReadFile(deb); err != nil || !bytes.Equal(now, published) {
			t.Errorf("%s: the published .deb changed (%v)", name, err)
		}
	}
}

// The pool remembers (filehash.Memo) that a .deb equals its pooled copy,
// so a no-op build reads neither again; a pooled copy changed in place,
// same size and its modification time put back, is still found changed.
func TestPoolMemoNeverHidesAChangedPackage(t *testing.T) {
	repo := t.TempDir()
	_, built := helloDeb(t, t.TempDir())
	memo := filehash.Memo{Dir: t.TempDir()}
	deb, isNew, err := AddToPoolWith(memo, repo, "main", built)
	if err != nil || !isNew {
		t.Fatalf("first add: new=%v %v", isNew, err)
	}
	for range 2 { // compared, then remembered
		if _, isNew, err := AddToPoolWith(memo, repo, "main", built); err != nil || isNew {
			t.Fatalf("the same bytes again: new=%v %v", isNew, err)
		}
	}
	entries, _ := filepath.Glob(filepath.Join(memo.Dir, "same-bytes", "*"))
	if len(entries) != 1 {
		t.Fatalf("remembered comparisons: %v, want one", entries)
	}

	testutil.TamperInPlace(t, deb, func(data []byte) { data[len(data)-1] ^= 0xff })
	var ce *ChangedError
	if _, _, err := AddToPoolWith(memo, repo, "main", built); !errors.As(err, &ce) {
		t.Errorf("a pooled .deb changed in place behind its old modification time: %v, want a ChangedError", err)
	}
}

// helloDeb builds hello 1.0-1 (all) in work and returns its component
// and .deb.
func helloDeb(t *testing.T, work string) (*spec.Component, string) {
	t.Helper()
	c := &spec.Component{Name: "hello", Version: "1.0", Revision: "1", Summary: "s", Description: "d.",
		License: "Apache-2.0", Copyright: "2026 test", Maintainer: "Test <t@example.org>", Changes: "c.", File: "t.yaml",
		Package: &spec.Package{Name: "hello", Section: "misc", Priority: "optional", Architecture: "all", Compression: "gzip"}}
	built, err := packaging.Build(packaging.Input{Component: c, WorkDir: filepath.Join(work, "w"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, work)
	testutil.Must(t, err)
	return c, built
}
