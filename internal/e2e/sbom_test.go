//go:build integration

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every fixture .deb in the pool has its SPDX 2.3 document beside it,
// valid against the official schema, naming the .deb's own sha256, the
// source, and for the C fixture the Debian packages it links against.
func TestEveryPooledDebHasValidSBOM(t *testing.T) {
	schema := spdx23(t)
	_, r := fixtures(t)
	debs := debsOf(t, r)
	for _, name := range fixturePackages {
		deb := debs[name]
		doc, ok := readSBOM(t, schema, deb)
		if !ok {
			continue
		}
		sum := sha256.Sum256(mustRead(t, deb))
		self := doc.Packages[0]
		if self.PackageFileName != filepath.Base(deb) || len(self.Checksums) != 1 || self.Checksums[0].ChecksumValue != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: the SBOM's first package is not the .deb with its sha256: %+v", name, self)
		}
		if src := doc.related("GENERATED_FROM"); (name == "hello-meta") != (len(src) == 0) {
			t.Errorf("%s: source packages %v", name, src)
		}
		if name == "hello-make" && !strings.Contains(strings.Join(doc.related("DYNAMIC_LINK"), " "), "libc6") {
			t.Errorf("hello-make links libc dynamically but its SBOM names %v", doc.related("DYNAMIC_LINK"))
		}
		for _, p := range doc.Packages {
			// The version of libc6 in the build root it was linked in.
			if name == "hello-make" && p.Name == "libc6" && !regexp.MustCompile(`^2\.[0-9]+-`).MatchString(p.VersionInfo) {
				t.Errorf("hello-make's SBOM gives libc6 version %q, want the build root's", p.VersionInfo)
			}
		}
	}
}

// The keyring package that publish makes has its SBOM as well.
func TestKeyringPackageHasSBOM(t *testing.T) {
	schema := spdx23(t)
	e, _ := fixtures(t)
	debs, _ := filepath.Glob(filepath.Join(e.out, "repo", "pool", "*", "*", "*", "*-archive-keyring_*_all.deb"))
	if len(debs) == 0 {
		t.Fatal("no keyring package in the pool")
	}
	for _, deb := range debs {
		if doc, ok := readSBOM(t, schema, deb); ok && len(doc.Packages) != 1 {
			t.Errorf("the keyring package's SBOM lists %d packages, want only itself", len(doc.Packages))
		}
	}
}
