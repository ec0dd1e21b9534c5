// Package sbom writes the software bill of materials of one .deb: an SPDX
// 2.3 JSON document beside it (<pkg>_<ver>_<arch>.spdx.json) naming the
// package with its own sha256, the upstream source it was built from with
// the verified hash, every Go module compiled into its binaries (read
// from the binaries' build information, not from go.mod: what was linked
// is what counts) and the Debian packages its binaries link against.
//
// The bytes depend only on the inputs: the creation time is the source
// date and everything is sorted, so a reproducible .deb has a
// reproducible SBOM.
package sbom

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/filehash"
)

// Suffix replaces ".deb" in the name of the SBOM beside a .deb.
const Suffix = ".spdx.json"

// PathFor is where the SBOM of deb lives: beside it.
func PathFor(deb string) string { return strings.TrimSuffix(deb, ".deb") + Suffix }

// Input is what the SBOM says about one .deb.
type Input struct {
	// Deb is the path of the finished .deb; its sha256 goes into the SBOM.
	Deb string
	// Package, Version (the full Debian version) and Arch name the .deb.
	Package, Version, Arch     string
	Summary, License, Homepage string
	// Supplier is the maintainer, "Name <email>".
	Supplier string
	// Source is the upstream source; nil for a meta-package.
	Source *Source
	// Modules are the Go modules linked into the package's binaries.
	Modules []Module
	// Linked are the Debian packages the binaries link against.
	Linked []Linked
	// Created is the document's creation time: the source date.
	Created time.Time
}

// Source is the upstream source of a package as it was fetched and verified.
type Source struct {
	// Kind is go_module, tarball, git or dir.
	Kind string
	// Name and Version of the upstream component.
	Name, Version string
	// Module is the Go module path (go_module).
	Module string
	// URL is the tarball or git URL.
	URL string
	// SHA256 is the tarball's verified digest (hex).
	SHA256 string
	// Sum is the Go module's verified go.sum hash ("h1:...").
	Sum string
	// Commit is the git commit, when known.
	Commit string
}

// Module is one Go module in a binary.
type Module struct {
	Path, Version string
	// Sum is the go.sum hash the go command verified ("h1:..."); empty for
	// a module replaced by a directory.
	Sum string
}

// Linked is a Debian package the binaries link against.
type Linked struct {
	// Package is the Debian package name; Constraint the version relation
	// (">= 2.34") or the exact installed version for a static link.
	Package, Constraint string
	// Version is, for a library loaded at run time, the version of its
	// package in the build root the binaries were linked against.
	Version string
	// Static is true for a library linked into the binary at build time
	// (from a -dev package) rather than loaded at run time.
	Static bool
}

// document is the subset of SPDX 2.3 written here; field order is the
// output order.
type document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      creationInfo   `json:"creationInfo"`
	Packages          []pkg          `json:"packages"`
	Relationships     []relationship `json:"relationships"`
}

type creationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type pkg struct {
	SPDXID           string        `json:"SPDXID"`
	Name             string        `json:"name"`
	VersionInfo      string        `json:"versionInfo,omitempty"`
	PackageFileName  string        `json:"packageFileName,omitempty"`
	Supplier         string        `json:"supplier,omitempty"`
	DownloadLocation string        `json:"downloadLocation"`
	FilesAnalyzed    bool          `json:"filesAnalyzed"`
	Checksums        []checksum    `json:"checksums,omitempty"`
	Homepage         string        `json:"homepage,omitempty"`
	SourceInfo       string        `json:"sourceInfo,omitempty"`
	LicenseConcluded string        `json:"licenseConcluded"`
	LicenseDeclared  string        `json:"licenseDeclared"`
	CopyrightText    string        `json:"copyrightText"`
	Summary          string        `json:"summary,omitempty"`
	ExternalRefs     []externalRef `json:"externalRefs,omitempty"`
	Purpose          string        `json:"primaryPackagePurpose,omitempty"`
}

type checksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type externalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

const noAssertion = "NOASSERTION"

// Write writes the SBOM of in.Deb beside it and returns its path.
func Write(in Input) (string, error) {
	data, err := Render(in)
	if err != nil {
		return "", err
	}
	p := PathFor(in.Deb)
	if err := atomicfile.Write(p, data, 0o644); err != nil {
		return "", fmt.Errorf("write SBOM: %w", err)
	}
	return p, nil
}

// Render returns the SBOM document of in.
func Render(in Input) ([]byte, error) {
	debSum, err := filehash.SHA256(in.Deb)
	if err != nil {
		return nil, fmt.Errorf("SBOM of %s: %w", in.Deb, err)
	}
	file := filepath.Base(in.Deb)
	stem := strings.TrimSuffix(file, ".deb")
	const debID = "SPDXRef-Package-deb"
	doc := document{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: stem,
		// Unique per .deb and reproducible: named by the .deb's hash.
		DocumentNamespace: "https://spdx.org/spdxdocs/debforge/" + stem + "-" + debSum,
		CreationInfo:      creationInfo{Created: in.Created.UTC().Format(time.RFC3339), Creators: []string{"Tool: debforge"}},
		Relationships:     []relationship{{"SPDXRef-DOCUMENT", "DESCRIBES", debID}},
	}
	license := orNoAssertion(in.License)
	doc.Packages = append(doc.Packages, pkg{
		SPDXID: debID, Name: in.Package, VersionInfo: in.Version, PackageFileName: file,
		Supplier: supplier(in.Supplier), DownloadLocation: noAssertion,
		Checksums: []checksum{{"SHA256", debSum}}, Homepage: in.Homepage,
		LicenseConcluded: license, LicenseDeclared: license, CopyrightText: noAssertion, Summary: in.Summary,
		ExternalRefs: []externalRef{{"PACKAGE-MANAGER", "purl", "pkg:deb/debforge/" + in.Package + "@" + in.Version + "?arch=" + in.Arch}},
		Purpose:      "INSTALL",
	})
	if in.Source != nil {
		src := sourcePackage(in.Source, license)
		doc.Packages = append(doc.Packages, src)
		doc.Relationships = append(doc.Relationships, relationship{debID, "GENERATED_FROM", src.SPDXID})
	}
	for i, m := range sortedModules(in.Modules) {
		p := modulePackage(i, m)
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, relationship{debID, "CONTAINS", p.SPDXID})
	}
	for i, l := range sortedLinked(in.Linked) {
		p, rel := linkedPackage(i, l)
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, relationship{debID, rel, p.SPDXID})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func sourcePackage(s *Source, license string) pkg {
	p := pkg{SPDXID: "SPDXRef-Package-source", Name: s.Name, VersionInfo: s.Version,
		DownloadLocation: noAssertion, LicenseConcluded: license, LicenseDeclared: license,
		CopyrightText: noAssertion, Purpose: "SOURCE"}
	switch s.Kind {
	case "go_module":
		p.Name = s.Module
		p.ExternalRefs = []externalRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + s.Module + "@" + s.Version}}
		p.Checksums, p.SourceInfo = h1Checksum(s.Sum)
	case "tarball":
		if s.URL != "" {
			p.DownloadLocation = s.URL
		}
		if s.SHA256 != "" {
			p.Checksums = []checksum{{"SHA256", s.SHA256}}
		}
		p.SourceInfo = "upstream archive, sha256 verified by debforge"
	case "git":
		if s.Commit != "" {
			// SPDX's VCS form: git+URL@commit.
			p.DownloadLocation = "git+" + s.URL + "@" + s.Commit
			p.SourceInfo = "git commit " + s.Commit + ", verified by debforge"
		}
	case "dir":
		p.SourceInfo = "a local directory"
	}
	return p
}

// h1Checksum turns a go.sum "h1:" hash (base64 SHA-256 of the module's
// file list) into an SPDX SHA256 checksum and keeps the h1 form, which is
// what Go tooling compares, in sourceInfo.
func h1Checksum(sum string) ([]checksum, string) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return nil, ""
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return nil, "go.sum " + sum
	}
	return []checksum{{"SHA256", hex.EncodeToString(raw)}}, "go.sum " + sum
}

func modulePackage(i int, m Module) pkg {
	p := pkg{SPDXID: fmt.Sprintf("SPDXRef-GoModule-%d-%s", i, idSafe(m.Path)), Name: m.Path, VersionInfo: m.Version,
		DownloadLocation: noAssertion, LicenseConcluded: noAssertion, LicenseDeclared: noAssertion,
		CopyrightText: noAssertion, Purpose: "LIBRARY",
		ExternalRefs: []externalRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + m.Path + "@" + m.Version}}}
	p.Checksums, p.SourceInfo = h1Checksum(m.Sum)
	return p
}

func linkedPackage(i int, l Linked) (pkg, string) {
	p := pkg{SPDXID: fmt.Sprintf("SPDXRef-DebianPackage-%d-%s", i, idSafe(l.Package)), Name: l.Package,
		DownloadLocation: noAssertion, LicenseConcluded: noAssertion, LicenseDeclared: noAssertion,
		CopyrightText: noAssertion, Purpose: "LIBRARY",
		ExternalRefs: []externalRef{{"PACKAGE-MANAGER", "purl", "pkg:deb/debian/" + l.Package}}}
	if l.Static {
		p.VersionInfo = l.Constraint
		if l.Constraint != "" {
			p.ExternalRefs[0].Locator += "@" + l.Constraint
		}
		p.SourceInfo = "linked statically at build time"
		return p, "STATIC_LINK"
	}
	if l.Constraint != "" {
		p.SourceInfo = "Depends: " + l.Package + " (" + l.Constraint + ")"
	}
	if l.Version != "" {
		p.VersionInfo = l.Version
		p.ExternalRefs[0].Locator += "@" + l.Version
		p.SourceInfo = strings.TrimPrefix(p.SourceInfo+"; linked against "+l.Version+" at build time", "; ")
	}
	return p, "DYNAMIC_LINK"
}

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// idSafe makes s usable in an SPDXID ("SPDXRef-" then letters, digits,
// '.' and '-').
func idSafe(s string) string { return notIDChar.ReplaceAllString(s, "-") }

func supplier(m string) string {
	if m == "" {
		return ""
	}
	name, rest, ok := strings.Cut(m, "<")
	if !ok {
		return "Organization: " + strings.TrimSpace(m)
	}
	return "Organization: " + strings.TrimSpace(name) + " (" + strings.TrimSuffix(strings.TrimSpace(rest), ">") + ")"
}

func orNoAssertion(s string) string {
	if s == "" {
		return noAssertion
	}
	return s
}

func sortedModules(ms []Module) []Module {
	out := append([]Module(nil), ms...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Version < out[j].Version
	})
	return out
}

func sortedLinked(ls []Linked) []Linked {
	out := append([]Linked(nil), ls...)
	sort.Slice(out, func(i, j int) bool { return out[i].Package < out[j].Package })
	return out
}

// GoModules reads the build information of every Go binary under dir and
// returns the modules linked into them (the main module excluded: it is
// the source itself), each once. A module replaced by another version is
// listed as the replacement, which is what was compiled. A missing dir
// has none.
func GoModules(dir string) ([]Module, error) {
	seen := map[string]Module{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := buildinfo.ReadFile(p)
		if err != nil {
			return nil // not a Go binary
		}
		for _, dep := range info.Deps {
			if dep.Replace != nil {
				dep = dep.Replace
			}
			if dep.Version == "" || dep.Version == "(devel)" {
				continue // a local directory replacement: no version to name
			}
			seen[dep.Path+"@"+dep.Version] = Module{Path: dep.Path, Version: dep.Version, Sum: dep.Sum}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read Go build information under %s: %w", dir, err)
	}
	out := make([]Module, 0, len(seen))
	for _, m := range seen {
		out = append(out, m)
	}
	return sortedModules(out), nil
}

// HasStaticCgo reports whether a Go binary under dir was built with cgo
// and links no shared library: C libraries from its build dependencies
// are then inside it.
func HasStaticCgo(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found || !d.Type().IsRegular() {
			return nil
		}
		info, err := buildinfo.ReadFile(p)
		if err != nil {
			return nil
		}
		cgo := false
		for _, s := range info.Settings {
			if s.Key == "CGO_ENABLED" && s.Value == "1" {
				cgo = true
			}
		}
		if cgo && !debian.LinksShared(p) {
			found = true
		}
		return nil
	})
	return found
}

// ParseDepends turns dpkg-shlibdeps' Depends ("libc6 (>= 2.34),
// libseccomp2 (>= 2.5.0)") into linked packages. Of alternatives
// ("a | b") the first is named.
func ParseDepends(deps []string) ([]Linked, error) {
	rels, err := debian.FirstAlternatives(deps)
	if err != nil {
		return nil, err
	}
	var out []Linked
	for _, r := range rels {
		out = append(out, Linked{Package: r.Name, Constraint: r.Constraint})
	}
	return out, nil
}
