package publishing

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// Turning staging on for a repository published without it keeps what
// hosts following each release had: its versions are recorded as
// promoted, once; the keyring is not (the release always lists it).
func TestStagingTurnedOnKeepsWhatReleasesListed(t *testing.T) {
	dir := t.TempDir()
	index := filepath.Join(dir, "dists", "bookworm", "main", "binary-amd64")
	testutil.Must(t, os.MkdirAll(index, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(index, "Packages"), []byte(
		"Package: runc\nVersion: 1.5.3-1+deb12\nArchitecture: amd64\n\nPackage: k-keyring\nVersion: 2026.1-1\nArchitecture: all\n\n"), 0o644))
	r := &Repo{Dir: dir, Now: func() time.Time { return time.Unix(1800000000, 0) },
		Settings: &spec.Repo{Staging: true, Component: "main", KeyName: "k-keyring", TargetList: []spec.Target{{Release: "bookworm", Arch: "amd64"}}}}
	for range 2 {
		testutil.Must(t, r.carryOverToStable())
	}
	ps, err := aptrepo.ReadPromotions(dir)
	testutil.Must(t, err)
	if len(ps) != 1 || ps[0].Key() != "runc_1.5.3-1+deb12_amd64" || ps[0].Release != "bookworm" {
		t.Errorf("carried over %+v, want runc once", ps)
	}
	// A repository that had staging suites already carries nothing over.
	testutil.Must(t, os.Remove(filepath.Join(dir, aptrepo.PromotionsFile)))
	testutil.Must(t, os.MkdirAll(filepath.Join(dir, "dists", "bookworm-staging"), 0o755))
	testutil.Must(t, r.carryOverToStable())
	if ps, _ := aptrepo.ReadPromotions(dir); len(ps) != 0 {
		t.Errorf("carried over %+v from a repository with staging", ps)
	}
}
