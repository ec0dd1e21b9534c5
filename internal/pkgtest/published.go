package pkgtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// published is a package as a release's signed index lists it.
type published struct {
	Name, Version, SHA256 string
	// IndexSHA256 is the hash of the whole Packages index it is listed in.
	IndexSHA256 string
}

// NotPublishedError is a package the release's index does not list at
// the version its spec says.
type NotPublishedError struct {
	Package, Version, Index string
	Target                  Target
	// Listed is the version the index lists instead; "" for none.
	Listed string
}

func (e *NotPublishedError) Error() string {
	if e.Listed != "" {
		return fmt.Sprintf("test %s on %s: %s lists version %s, not %s", e.Package, e.Target, e.Index, e.Listed, e.Version)
	}
	return fmt.Sprintf("test %s %s on %s: %s does not list it", e.Package, e.Version, e.Target, e.Index)
}

// Hint names the fix.
func (e *NotPublishedError) Hint() string {
	return "tests run against the published package: build it first (debforge build " + e.Package + ")"
}

// published finds c's package for t in the index apt reads.
func (tr *Tester) published(c *spec.Component, t Target) (published, error) {
	name, version := c.PackageName(), c.DebVersion()
	arch := t.Arch
	if c.IsMeta() || (c.Package != nil && c.Package.Architecture == "all") {
		arch = "all"
	}
	index := filepath.Join(tr.RepoDir, "dists", t.Codename, tr.Component, "binary-"+t.Arch, "Packages")
	data, err := os.ReadFile(index)
	if err != nil {
		return published{}, &NotPublishedError{Package: name, Version: version, Index: index, Target: t}
	}
	sum := sha256.Sum256(data)
	pub := published{Name: name, Version: version, IndexSHA256: hex.EncodeToString(sum[:])}
	listed := ""
	for _, st := range aptrepo.ParseStanzas(data) {
		e := aptrepo.EntriesFromStanzas([][]aptrepo.Field{st})
		if len(e) != 1 || e[0].Name != name || e[0].Arch != arch {
			continue
		}
		if e[0].Version == version {
			pub.SHA256 = e[0].SHA256
			return pub, nil
		}
		listed = e[0].Version
	}
	return published{}, &NotPublishedError{Package: name, Version: version, Index: index, Target: t, Listed: listed}
}
