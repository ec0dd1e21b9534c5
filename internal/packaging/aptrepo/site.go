package aptrepo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/packaging/debfile"
)

// Site is what the front page and `debforge list --repo` show: a
// repository's releases and the packages their indexes list. It is built
// only from index data (the packages whose stanzas are about to be signed,
// or stanzas read back through a verified InRelease), so neither view can
// show a package the signed index does not.
type Site struct {
	Label, Description string
	// Fingerprint of the signing key; KeyName names the key files, the
	// .sources file and the keyring package.
	Fingerprint, KeyName string
	Sources              []SourcesFile
	Releases             []Release
	// Promotions are the newest promotions into the releases (one per
	// package version and release), and Feed the Atom feed of them.
	Promotions []Promotion
	Feed       string
}

// SourcesFile is a deb822 .sources file hosts copy to add the repository.
type SourcesFile struct {
	Name, Text string
	// Local is set when its URIs is a file:// path, which only this
	// machine can use: the page then says how to set the real URL.
	Local bool
}

// Release is one dists/<codename> as its Release file describes it.
type Release struct {
	Codename, Suite  string
	Date, ValidUntil string // as written in Release; ValidUntil may be empty
	Archs            []string
	Entries          []Entry
	// SignedBy is the fingerprint of the key whose signature on InRelease
	// verified (set by ReadRelease).
	SignedBy string
}

// Entry is one .deb listed in a release's indexes.
type Entry struct {
	Name, Version, Arch, Summary string
	Filename, SHA256             string // Filename is relative to the repository root
	Size                         int64
	// BuildDate, Buildinfo, SBOM and Changelog are known only when
	// publishing (from files beside the .deb); links are relative to the
	// repository root and empty when the file does not exist.
	BuildDate                  string
	Buildinfo, SBOM, Changelog string
	// Tests are the results of its tests (debforge test) on the
	// release's architectures it is published for, where any ran.
	Tests []TestLink
}

// TestsDir is where debforge test keeps results and logs in the
// repository: tests/<codename>-<arch>/<package>_<version>.{json,log}.
const TestsDir = "tests"

// TestResultName is a package version's result in TestsDir, without
// its extension (.json, .log): <codename>-<arch>/<package>_<version>.
func TestResultName(codename, arch, pkg, version string) string {
	return path.Join(codename+"-"+arch, pkg+"_"+version)
}

// pruneTestResults removes the results and logs under TestsDir of
// package versions no release lists any more.
func pruneTestResults(dir string, builds []*releaseBuild) {
	listed := map[string]bool{}
	for _, b := range builds {
		for _, p := range b.kept {
			listed[p.Name+"_"+p.Version] = true
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, TestsDir, "*", "*_*"))
	for _, f := range files {
		stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".json"), ".log")
		if !listed[stem] {
			os.Remove(f)
		}
	}
}

// TestLink is one architecture's test result of a package, and its log
// (relative to the repository root).
type TestLink struct {
	Arch, Status, Reason, Log string
}

// EntriesFromStanzas turns Packages stanzas of several binary-<arch>
// indexes into entries, once per file: an Architecture: all package is
// listed in every index but is one .deb.
func EntriesFromStanzas(stanzas [][]Field) []Entry {
	seen := map[string]bool{}
	var out []Entry
	for _, fields := range stanzas {
		get := func(name string) string { return debfile.FieldValue(fields, name) }
		fn := get("Filename")
		if fn == "" || seen[fn] {
			continue
		}
		seen[fn] = true
		var size int64
		fmt.Sscan(get("Size"), &size)
		summary, _, _ := strings.Cut(get("Description"), "\n")
		out = append(out, Entry{Name: get("Package"), Version: get("Version"), Arch: get("Architecture"),
			Summary: summary, Filename: fn, SHA256: get("SHA256"), Size: size})
	}
	SortEntries(out)
	return out
}

// SortEntries orders entries by name, then newest version first, then arch.
func SortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if c := debian.CompareVersions(a.Version, b.Version); c != 0 {
			return c > 0
		}
		return a.Arch < b.Arch
	})
}

// Field is a deb822 field.
type Field = debfile.Field

// ParseStanzas splits a Packages (or Release) file into stanzas of fields;
// continuation lines stay in the value, joined with "\n".
func ParseStanzas(data []byte) [][]Field {
	var out [][]Field
	var cur []Field
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		case (line[0] == ' ' || line[0] == '\t') && len(cur) > 0:
			cur[len(cur)-1].Value += "\n" + line
		default:
			name, val, ok := strings.Cut(line, ":")
			if ok {
				cur = append(cur, Field{Name: name, Value: strings.TrimSpace(val)})
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// siteEntries describes the packages about to be indexed, with the
// build information found beside each .deb in the pool. changelogs maps
// a .deb's Filename to the changelog link written into the snapshot;
// test results are read from tests/<tested>-<arch>/.
func siteEntries(repoDir, tested string, archs []string, kept []*Package, changelogs map[string]string) []Entry {
	out := make([]Entry, 0, len(kept))
	for _, p := range kept {
		summary, _, _ := strings.Cut(debfile.FieldValue(p.Fields, "Description"), "\n")
		e := Entry{Name: p.Name, Version: p.Version, Arch: p.Arch, Summary: summary,
			Filename: p.Filename, SHA256: p.SHA256, Size: p.Size, Changelog: changelogs[p.Filename]}
		stem := strings.TrimSuffix(p.Filename, ".deb")
		abs := filepath.Join(repoDir, filepath.FromSlash(stem))
		if data, err := os.ReadFile(abs + ".buildinfo"); err == nil {
			e.Buildinfo = stem + ".buildinfo"
			for _, st := range ParseStanzas(data) {
				if d := debfile.FieldValue(st, "Build-Date"); d != "" {
					e.BuildDate = d
				}
			}
		}
		if _, err := os.Stat(abs + ".spdx.json"); err == nil {
			e.SBOM = stem + ".spdx.json"
		}
		if e.BuildDate == "" {
			// No .buildinfo: the time the .deb entered the pool, which
			// AddToPool sets when it copies a fresh build in.
			if st, err := os.Stat(abs + ".deb"); err == nil {
				e.BuildDate = st.ModTime().UTC().Format(time.RFC1123Z)
			}
		}
		e.Tests = testLinks(repoDir, tested, archs, e)
		out = append(out, e)
	}
	SortEntries(out)
	return out
}

// testLinks reads e's test results for the architectures of the release
// it is published for (every one for an Architecture: all package).
func testLinks(repoDir, codename string, archs []string, e Entry) []TestLink {
	if e.Arch != "all" {
		archs = []string{e.Arch}
	}
	var out []TestLink
	for _, a := range archs {
		stem := path.Join(TestsDir, TestResultName(codename, a, e.Name, e.Version))
		data, err := os.ReadFile(filepath.Join(repoDir, filepath.FromSlash(stem)+".json"))
		if err != nil {
			continue
		}
		var r struct{ Status, Reason string }
		if json.Unmarshal(data, &r) != nil || r.Status == "" {
			continue
		}
		l := TestLink{Arch: a, Status: r.Status, Reason: r.Reason}
		if _, err := os.Stat(filepath.Join(repoDir, filepath.FromSlash(stem)+".log")); err == nil {
			l.Log = stem + ".log"
		}
		out = append(out, l)
	}
	return out
}

// Newest returns, per package name, the newest version in each arch of r;
// an Architecture: all package counts for every arch of the release.
func (r Release) Newest() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, e := range r.Entries {
		archs := []string{e.Arch}
		if e.Arch == "all" {
			archs = r.Archs
		}
		if out[e.Name] == nil {
			out[e.Name] = map[string]string{}
		}
		for _, a := range archs {
			if cur := out[e.Name][a]; cur == "" || debian.CompareVersions(e.Version, cur) > 0 {
				out[e.Name][a] = e.Version
			}
		}
	}
	return out
}

// changelogLink is where a .deb's extracted changelog lives inside the
// snapshot of codename, relative to the repository root.
func changelogLink(codename, filename string) string {
	return path.Join("dists", codename, "changelogs", strings.TrimSuffix(path.Base(filename), ".deb")+".changelog.txt")
}

// publishedSite describes the repository about to be published, with
// the newest of promotions; its dates are read back from the Release
// texts that get signed.
func publishedSite(cfg Config, builds []*releaseBuild, promotions []Promotion) (Site, error) {
	asc, err := cfg.Signer.PublicKey(true)
	if err != nil {
		return Site{}, err
	}
	site := Site{Label: cfg.Label, Description: cfg.Description, Fingerprint: cfg.Signer.Fingerprint(), KeyName: cfg.KeyName}
	local := cfg.URL == "" || strings.HasPrefix(cfg.URL, "file:")
	for _, b := range builds {
		rel := Release{Codename: b.rt.Codename, Suite: b.rt.Suite, Archs: b.archs}
		if st := ParseStanzas(b.release); len(st) > 0 {
			rel.Date, rel.ValidUntil = debfile.FieldValue(st[0], "Date"), debfile.FieldValue(st[0], "Valid-Until")
		}
		site.Releases = append(site.Releases, rel)
		site.Sources = append(site.Sources, SourcesFile{Name: cfg.SourcesName(b.rt.Codename), Text: sourcesText(cfg, b.rt.Codename, asc), Local: local})
	}
	site.Promotions, site.Feed = newestByVersion(promotions, 10), FeedFile
	return site, nil
}
