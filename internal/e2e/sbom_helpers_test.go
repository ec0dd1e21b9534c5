//go:build integration || stack

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// spdx23 compiles the official SPDX 2.3 JSON schema vendored beside the
// SBOM writer (internal/packaging/sbom/testdata/README.md says where it is from).
func spdx23(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../packaging/sbom/testdata/spdx-2.3.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	const id = "http://spdx.org/rdf/terms/2.3"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type spdxDoc struct {
	Packages []struct {
		SPDXID, Name, VersionInfo, PackageFileName, SourceInfo string
		Checksums                                              []struct{ Algorithm, ChecksumValue string }
	}
	Relationships []struct{ SpdxElementID, RelationshipType, RelatedSpdxElement string }
}

// readSBOM reads the SBOM beside deb and validates it against schema.
func readSBOM(t *testing.T, schema *jsonschema.Schema, deb string) (spdxDoc, bool) {
	t.Helper()
	data, err := os.ReadFile(strings.TrimSuffix(deb, ".deb") + ".spdx.json")
	if err != nil {
		t.Errorf("no SBOM beside %s: %v", filepath.Base(deb), err)
		return spdxDoc{}, false
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: SBOM is not JSON: %v", filepath.Base(deb), err)
		return spdxDoc{}, false
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("%s: SBOM does not validate against SPDX 2.3: %v", filepath.Base(deb), err)
	}
	var doc spdxDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Errorf("%s: %v", filepath.Base(deb), err)
		return spdxDoc{}, false
	}
	return doc, true
}

// related returns the names of the packages deb has a relType relation to.
func (d spdxDoc) related(relType string) []string {
	names := map[string]string{}
	for _, p := range d.Packages {
		names[p.SPDXID] = p.Name
	}
	var out []string
	for _, r := range d.Relationships {
		if r.RelationshipType == relType && r.SpdxElementID == "SPDXRef-Package-deb" {
			out = append(out, names[r.RelatedSpdxElement])
		}
	}
	return out
}
