package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/debforge/debforge/internal/testutil"
)

const schemaID = "http://spdx.org/rdf/terms/2.3"

// spdxSchema compiles the official SPDX 2.3 schema (testdata/README.md
// says where it comes from), with format assertions on.
func spdxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/spdx-2.3.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks data against the SPDX 2.3 schema.
func validate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("SBOM is not JSON: %v", err)
	}
	return s.Validate(inst)
}

// goBinaryDir builds a real Go binary (testdata/gobin, which links
// jsonschema from the Go module proxy) into a directory of its own.
func goBinaryDir(t *testing.T) string {
	t.Helper()
	testutil.RequireTool(t, "go")
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "usr", "bin", "gobin"), "./testdata/gobin")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func fakeDeb(t *testing.T) (string, string) {
	t.Helper()
	deb := filepath.Join(t.TempDir(), "upstream-tool_1.2.3-1_amd64.deb")
	data := []byte("!<arch>\nnot really a deb, but bytes with a hash\n")
	if err := os.WriteFile(deb, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return deb, hex.EncodeToString(sum[:])
}

func TestSBOMOfGoBinaryValidatesAgainstSPDX23Schema(t *testing.T) {
	schema := spdxSchema(t)
	mods, err := GoModules(goBinaryDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var js *Module
	for i, m := range mods {
		if m.Path == "github.com/santhosh-tekuri/jsonschema/v6" {
			js = &mods[i]
		}
	}
	if js == nil || js.Version != "v6.0.2" || !strings.HasPrefix(js.Sum, "h1:") {
		t.Fatalf("the binary's modules lack jsonschema v6.0.2 with its h1 hash: %+v", mods)
	}
	deb, debSum := fakeDeb(t)
	in := Input{Deb: deb, Package: "upstream-tool", Version: "1.2.3-1", Arch: "amd64", Summary: "a tool",
		License: "Apache-2.0", Homepage: "https://example.org/tool", Supplier: "Jane Doe <jane@example.org>",
		Source:  &Source{Kind: "go_module", Name: "tool", Version: "v1.2.3", Module: "example.org/tool", Sum: "h1:y3GUIW7J0Gxd+tCFfWR6L1YDnhHiNR1BGRx1J50+VnA="},
		Modules: mods, Linked: []Linked{{Package: "libseccomp-dev", Constraint: "2.5.4-1+deb12u1", Static: true}},
		Created: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	p, err := Write(in)
	if err != nil {
		t.Fatal(err)
	}
	if p != strings.TrimSuffix(deb, ".deb")+".spdx.json" {
		t.Errorf("SBOM written to %s, want beside the .deb", p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, schema, data); err != nil {
		t.Fatalf("SBOM does not validate against SPDX 2.3:\n%v\n%s", err, data)
	}
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	byName := map[string]pkg{}
	for _, p := range doc.Packages {
		byName[p.Name] = p
	}
	if got := byName["upstream-tool"]; len(got.Checksums) != 1 || got.Checksums[0].Value != debSum {
		t.Errorf("the .deb's package must carry its sha256 %s: %+v", debSum, got)
	}
	if got := byName[js.Path]; got.VersionInfo != "v6.0.2" || got.SourceInfo != "go.sum "+js.Sum || len(got.Checksums) != 1 {
		t.Errorf("module entry: %+v", got)
	}
	if got := byName["example.org/tool"]; got.SourceInfo != "go.sum h1:y3GUIW7J0Gxd+tCFfWR6L1YDnhHiNR1BGRx1J50+VnA=" ||
		len(got.Checksums) != 1 || got.Checksums[0].Value != hexOfH1(t, "y3GUIW7J0Gxd+tCFfWR6L1YDnhHiNR1BGRx1J50+VnA=") {
		t.Errorf("source entry: %+v", got)
	}
	if doc.CreationInfo.Created != "2025-03-04T05:06:07Z" {
		t.Errorf("created = %s, want the source date", doc.CreationInfo.Created)
	}
	if !hasRelationship(doc, "STATIC_LINK", "libseccomp-dev") || !hasRelationship(doc, "CONTAINS", js.Path) ||
		!hasRelationship(doc, "GENERATED_FROM", "example.org/tool") {
		t.Errorf("relationships: %+v", doc.Relationships)
	}
	again, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("two renders of the same input differ: the SBOM is not reproducible")
	}
}

func hexOfH1(t *testing.T, b64 string) string {
	t.Helper()
	cs, _ := h1Checksum("h1:" + b64)
	if len(cs) != 1 {
		t.Fatalf("h1 %s not decoded", b64)
	}
	return cs[0].Value
}

func hasRelationship(doc document, typ, name string) bool {
	ids := map[string]string{}
	for _, p := range doc.Packages {
		ids[p.SPDXID] = p.Name
	}
	for _, r := range doc.Relationships {
		if r.Type == typ && ids[r.Related] == name && r.Element == "SPDXRef-Package-deb" {
			return true
		}
	}
	return false
}

// A C package: tarball source, dynamically linked libraries from
// dpkg-shlibdeps' Depends; a git source; a meta-package with no source.
func mustParseDepends(t *testing.T, deps ...string) []Linked {
	t.Helper()
	ls, err := ParseDepends(deps)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// withVersion sets the linked-against version of pkg in ls.
func withVersion(ls []Linked, pkg, version string) []Linked {
	for i := range ls {
		if ls[i].Package == pkg {
			ls[i].Version = version
		}
	}
	return ls
}

func TestSBOMOfCAndMetaPackagesValidate(t *testing.T) {
	schema := spdxSchema(t)
	cases := map[string]Input{
		"tarball": {Source: &Source{Kind: "tarball", Name: "slirp", Version: "1.3.1", URL: "https://example.org/slirp-1.3.1.tar.gz",
			SHA256: strings.Repeat("ab", 32)}, Linked: withVersion(mustParseDepends(t, "libc6 (>= 2.34), libseccomp2 (>= 2.5.0) | libfoo, libslirp0 (>= 4.7.0)"), "libc6", "2.36-9+deb12u13")},
		"git":  {Source: &Source{Kind: "git", Name: "slirp", Version: "1.3.1", URL: "https://example.org/slirp.git", Commit: strings.Repeat("c", 40)}},
		"meta": {},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			deb, _ := fakeDeb(t)
			in.Deb, in.Package, in.Version, in.Arch, in.License = deb, "pkg", "1.3.1-1", "amd64", "GPL-2.0-only"
			data, err := Render(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, schema, data); err != nil {
				t.Fatalf("does not validate:\n%v\n%s", err, data)
			}
			if name == "tarball" {
				var doc document
				_ = json.Unmarshal(data, &doc)
				for _, lib := range []string{"libc6", "libseccomp2", "libslirp0"} {
					if !hasRelationship(doc, "DYNAMIC_LINK", lib) {
						t.Errorf("no DYNAMIC_LINK to %s:\n%s", lib, data)
					}
				}
				if strings.Contains(string(data), "libfoo") {
					t.Error("an alternative Depends is named as linked")
				}
				for _, p := range doc.Packages {
					if p.Name == "libc6" && (p.VersionInfo != "2.36-9+deb12u13" || p.ExternalRefs[0].Locator != "pkg:deb/debian/libc6@2.36-9+deb12u13") {
						t.Errorf("libc6: version %q, purl %q: want the version linked against", p.VersionInfo, p.ExternalRefs[0].Locator)
					}
				}
			}
		})
	}
}

// The validator used above really rejects what SPDX 2.3 does not allow,
// so a passing validation means something.
func TestSchemaValidatorRejectsBrokenSBOM(t *testing.T) {
	schema := spdxSchema(t)
	deb, _ := fakeDeb(t)
	data, err := Render(Input{Deb: deb, Package: "p", Version: "1-1", Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	breaks := map[string]func(m map[string]any){
		"no downloadLocation": func(m map[string]any) { delete(m["packages"].([]any)[0].(map[string]any), "downloadLocation") },
		"bad relationship":    func(m map[string]any) { m["relationships"].([]any)[0].(map[string]any)["relationshipType"] = "LIKES" },
		"bad checksum algo": func(m map[string]any) {
			m["packages"].([]any)[0].(map[string]any)["checksums"].([]any)[0].(map[string]any)["algorithm"] = "CRC32"
		},
		"no creation time": func(m map[string]any) { delete(m["creationInfo"].(map[string]any), "created") },
	}
	for name, brk := range breaks {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		brk(m)
		bad, _ := json.Marshal(m)
		if validate(t, schema, bad) == nil {
			t.Errorf("%s: the schema accepted a broken document", name)
		}
	}
}
