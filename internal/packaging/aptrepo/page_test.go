package aptrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/blakesmith/ar"
	"golang.org/x/net/html"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// hostile is a description that would run script if it reached the page
// unescaped.
const hostile = `<script>document.title="PWNED"</script><img src=x onerror="alert(1)"> & "quotes"`

func testDeb(t *testing.T, repo, name, version, summary string) string {
	t.Helper()
	work := t.TempDir()
	c := &spec.Component{Name: name, Version: version, Revision: "1", Summary: summary, Description: "Test package.",
		License: "Apache-2.0", Copyright: "2026 test", Maintainer: "Test <t@example.org>", Changes: "Test build of " + name + ".", File: "t.yaml",
		Package: &spec.Package{Name: name, Section: "misc", Priority: "optional", Architecture: "all", Compression: "gzip"}}
	deb, err := packaging.Build(packaging.Input{Component: c, WorkDir: filepath.Join(work, "w"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, work)
	if err != nil {
		t.Fatal(err)
	}
	dst, _, err := AddToPool(repo, "main", deb)
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func testConfig(t *testing.T, repo string) Config {
	t.Helper()
	s, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key.asc"), "Test", "t@example.org")
	if err != nil {
		t.Fatal(err)
	}
	return Config{Dir: repo, Origin: "o", Label: "Test <repo>", Suite: "stable", Codename: "tc", Component: "main",
		Description: "test repository", Keep: 3, ValidFor: 7 * 24 * time.Hour, Archs: []string{"amd64"},
		KeyName: "test-archive-keyring", URL: "http://127.0.0.1:1/", Signer: s, Now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

// parsePage parses index.html with an HTML parser after checking, token
// by token, that the markup needs no repair: every element the page opens
// it closes, in order, and no id repeats. (The parser itself accepts
// anything, as browsers do, so it cannot tell.)
func parsePage(t *testing.T, repo string) *html.Node {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("<!DOCTYPE html>")) {
		t.Error("page lacks the HTML5 doctype")
	}
	if err := wellFormed(data); err != nil {
		t.Errorf("page markup: %v", err)
	}
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// attrName matches one attribute of a start tag's text: its name and
// any value, quoted or not, so that a value's own text is skipped.
var attrName = regexp.MustCompile(`\s([^\s"'>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?`)

func wellFormed(data []byte) error {
	z := html.NewTokenizer(bytes.NewReader(data))
	var stack []string
	ids := map[string]bool{}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return z.Err()
			}
			if len(stack) > 0 {
				return fmt.Errorf("unclosed elements at the end: %v", stack)
			}
			return nil
		case html.StartTagToken, html.SelfClosingTagToken:
			// The tokenizer keeps only the first of repeated attributes, as
			// browsers do: look for repeats in the tag's own text.
			raw := string(z.Raw())
			tok := z.Token()
			seen := map[string]bool{}
			for _, m := range attrName.FindAllStringSubmatch(raw[1+len(tok.Data):], -1) {
				name := strings.ToLower(m[1])
				if seen[name] {
					return fmt.Errorf("<%s> repeats attribute %s", tok.Data, name)
				}
				seen[name] = true
			}
			for _, a := range tok.Attr {
				if a.Key == "id" {
					if ids[a.Val] {
						return fmt.Errorf("id %q used twice", a.Val)
					}
					ids[a.Val] = true
				}
			}
			if tt == html.StartTagToken && !voidElements[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.EndTagToken:
			tok := z.Token()
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				return fmt.Errorf("</%s> does not close the open element (open: %v)", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

// The checker itself catches what it is for.
func TestWellFormedCatches(t *testing.T) {
	for _, bad := range []string{"<div><p>x</div>", "<p>x", "<b id=a></b><i id=a></i>", "</p>", "<a href=x href=y></a>"} {
		if wellFormed([]byte(bad)) == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if err := wellFormed([]byte("<!DOCTYPE html><html><head><meta charset=utf-8></head><body><p>x<br></p></body></html>")); err != nil {
		t.Error(err)
	}
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func elements(doc *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
	})
	return out
}

func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && attr(n, "id") == id && found == nil {
			found = n
		}
	})
	return found
}

// pageRows returns "name version arch" of every row of the files table,
// and the rows by that key.
func pageRows(doc *html.Node) ([]string, map[string]*html.Node) {
	var keys []string
	rows := map[string]*html.Node{}
	for _, tr := range elements(byID(doc, "debs"), "tr") {
		if attr(tr, "data-package") == "" {
			continue
		}
		k := attr(tr, "data-package") + " " + attr(tr, "data-version") + " " + attr(tr, "data-arch")
		keys = append(keys, k)
		rows[k] = tr
	}
	sort.Strings(keys)
	return keys, rows
}

// indexRows returns "name version arch" of every .deb the Packages
// indexes of the snapshot list.
func indexRows(t *testing.T, repo, codename string) []string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(repo, "dists", codename, "main", "binary-*", "Packages"))
	var all [][]Field
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ParseStanzas(data)...)
	}
	var keys []string
	for _, e := range EntriesFromStanzas(all) {
		keys = append(keys, e.Name+" "+e.Version+" "+e.Arch)
	}
	sort.Strings(keys)
	return keys
}

func links(n *html.Node, class string) []string {
	var out []string
	for _, a := range elements(n, "a") {
		if attr(a, "class") == class {
			out = append(out, attr(a, "href"))
		}
	}
	return out
}

func TestFrontPage(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	testDeb(t, repo, "alpha", "1.0", "first test package")
	beta := testDeb(t, repo, "beta", "2.0", "second test package")
	testDeb(t, repo, "evil", "1.0", hostile)
	// Build information exists for beta only: the page links it for beta
	// and for no other package.
	stem := strings.TrimSuffix(beta, ".deb")
	testutil.Must(t, os.WriteFile(stem+".buildinfo", []byte("Format: 1.0\nSource: beta\nBuild-Date: Sat, 28 Nov 2026 11:00:00 +0000\n"), 0o644))
	testutil.Must(t, os.WriteFile(stem+".spdx.json", []byte("{}\n"), 0o644))
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(repo, PageFile)); err != nil || l != "dists/tc/index.html" {
		t.Errorf("index.html: link %q, %v", l, err)
	}
	doc := parsePage(t, repo)
	got, rows := pageRows(doc)
	want := indexRows(t, repo, "tc")
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) != 3 {
		t.Errorf("page lists\n%s\nindex lists\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	t.Run("links show what exists", func(t *testing.T) {
		for k, tr := range rows {
			debs := links(tr, "deb")
			if len(debs) != 1 {
				t.Fatalf("%s: .deb links %v", k, debs)
			}
			if _, err := os.Stat(filepath.Join(repo, debs[0])); err != nil {
				t.Errorf("%s: .deb link %s: %v", k, debs[0], err)
			}
			bi, sbom := links(tr, "buildinfo"), links(tr, "sbom")
			isBeta := strings.HasPrefix(k, "beta ")
			if isBeta != (len(bi) == 1) || isBeta != (len(sbom) == 1) {
				t.Errorf("%s: buildinfo %v sbom %v", k, bi, sbom)
			}
			if isBeta && !strings.Contains(text(tr), "Sat, 28 Nov 2026 11:00:00 +0000") {
				t.Errorf("beta row lacks the .buildinfo Build-Date: %q", text(tr))
			}
			cl := links(tr, "changelog")
			if len(cl) != 1 {
				t.Fatalf("%s: changelog links %v", k, cl)
			}
			data, err := os.ReadFile(filepath.Join(repo, cl[0]))
			if name := strings.Fields(k)[0]; err != nil || !strings.HasPrefix(string(data), name+" (") {
				t.Errorf("%s: changelog %s: %v %q", k, cl[0], err, data)
			}
		}
	})

	t.Run("markup in descriptions is text", func(t *testing.T) {
		scripts := elements(doc, "script")
		if len(scripts) != 1 || text(scripts[0]) != copyScript {
			t.Errorf("page has %d scripts; want only the copy script", len(scripts))
		}
		if n := len(elements(doc, "img")); n != 0 {
			t.Errorf("page has %d img elements", n)
		}
		if !strings.Contains(text(byID(doc, "packages")), hostile) {
			t.Errorf("the evil summary is not shown as text")
		}
		if title := text(elements(doc, "title")[0]); title != "Test <repo> apt repository" {
			t.Errorf("title %q", title)
		}
	})

	t.Run("how to add", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join(repo, cfg.KeyName+".sources"))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(byID(doc, "sources-0")); got != string(src) {
			t.Errorf("page's .sources differs from the file:\n%s\n---\n%s", got, src)
		}
		if byID(doc, "local-url") != nil {
			t.Errorf("warns of a local URL while url is %s", cfg.URL)
		}
		if got := text(byID(doc, "fingerprint")); got != cfg.Signer.Fingerprint() {
			t.Errorf("fingerprint %q", got)
		}
		rel := text(byID(doc, "releases"))
		for _, w := range []string{"Sat, 28 Nov 2026 12:00:00 +0000", "Sat, 05 Dec 2026 12:00:00 +0000", "tc", "stable", "amd64"} {
			if !strings.Contains(rel, w) {
				t.Errorf("releases section lacks %q: %q", w, rel)
			}
		}
		var metaCSP string
		for _, m := range elements(doc, "meta") {
			if attr(m, "http-equiv") == "Content-Security-Policy" {
				metaCSP = attr(m, "content")
			}
		}
		if metaCSP != PageCSP {
			t.Errorf("CSP %q", metaCSP)
		}
	})

	t.Run("a new version appears", func(t *testing.T) {
		testDeb(t, repo, "alpha", "1.1", "first test package")
		cfg.Now = cfg.Now.Add(time.Hour)
		if err := Publish(cfg); err != nil {
			t.Fatal(err)
		}
		got, _ := pageRows(parsePage(t, repo))
		want := indexRows(t, repo, "tc")
		if strings.Join(got, "\n") != strings.Join(want, "\n") || !strings.Contains(strings.Join(got, "\n"), "alpha 1.1-1 all") {
			t.Errorf("page lists\n%s\nindex lists\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		newest := text(byID(parsePage(t, repo), "packages"))
		if !strings.Contains(newest, "1.1-1") {
			t.Errorf("overview lacks the new version: %q", newest)
		}
	})
}

// A repository without its front page (published by an older debforge,
// or the page deleted) is not consistent, so the next build publishes.
func TestConsistentNeedsFrontPage(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	testDeb(t, repo, "alpha", "1.0", "first")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	if err := Consistent(repo, "tc", cfg.KeyName); err != nil {
		t.Fatalf("fresh repository: %v", err)
	}
	for _, f := range []string{PageFile, CSSFile, "dists/tc/index.html"} {
		p := filepath.Join(repo, filepath.FromSlash(f))
		data, _ := os.ReadFile(p)
		link, linkErr := os.Readlink(p)
		os.Remove(p)
		if err := Consistent(repo, "tc", cfg.KeyName); err == nil || !strings.Contains(err.Error(), f+" is missing") {
			t.Errorf("without %s: %v", f, err)
		}
		if linkErr == nil {
			testutil.Must(t, os.Symlink(link, p))
		} else {
			testutil.Must(t, os.WriteFile(p, data, 0o644))
		}
	}
}

// A repository published with the default file:// URL says on its page
// that hosts cannot use that .sources file as it is.
func TestFrontPageWarnsOfLocalURL(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	cfg.URL = ""
	testDeb(t, repo, "alpha", "1.0", "first")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	n := byID(parsePage(t, repo), "local-url")
	if n == nil || !strings.Contains(text(n), "url:") {
		t.Fatal("no local-URL warning on the page")
	}
}

// BenchmarkRenderPage renders the page of a 1,000-package release.
func BenchmarkRenderPage(b *testing.B) {
	rel := Release{Codename: "c", Suite: "stable", Archs: []string{"amd64", "arm64"}}
	for i := 0; i < 1000; i++ {
		rel.Entries = append(rel.Entries, Entry{Name: fmt.Sprintf("pkg-%04d", i), Version: "1.0-1", Arch: "amd64",
			Summary: "a benchmark package", Filename: fmt.Sprintf("pool/main/p/pkg-%04d/pkg-%04d_1.0-1_amd64.deb", i, i), Size: 12345,
			BuildDate: "Sat, 28 Nov 2026 12:00:00 +0000", Changelog: "dists/c/changelogs/x.txt"})
	}
	s := Site{Label: "bench", Fingerprint: "ABCD", KeyName: "k", Sources: []SourcesFile{{Name: "k.sources", Text: "Types: deb\n"}}, Releases: []Release{rel}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderPage(s); err != nil {
			b.Fatal(err)
		}
	}
}

// A .deb whose changelog.Debian.gz is not gzip gets no changelog link,
// and the publish goes on; a .deb without one gets none either.
func TestChangelogDamagedOrMissing(t *testing.T) {
	repo := t.TempDir()
	mk := func(name string, body []byte) *Package {
		var data bytes.Buffer
		z := gzip.NewWriter(&data)
		tw := tar.NewWriter(z)
		if body != nil {
			tw.WriteHeader(&tar.Header{Name: "./usr/share/doc/" + name + "/changelog.Debian.gz", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
			tw.Write(body)
		}
		tw.Close()
		z.Close()
		var deb bytes.Buffer
		w := ar.NewWriter(&deb)
		w.WriteGlobalHeader()
		for _, m := range []struct {
			name string
			data []byte
		}{{"debian-binary", []byte("2.0\n")}, {"data.tar.gz", data.Bytes()}} {
			w.WriteHeader(&ar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data))})
			w.Write(m.data)
		}
		rel := "pool/" + name + ".deb"
		if err := os.WriteFile(filepath.Join(repo, rel), deb.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return &Package{Name: name, Filename: rel}
	}
	testutil.Must(t, os.MkdirAll(filepath.Join(repo, "pool"), 0o755))
	var good bytes.Buffer
	z := gzip.NewWriter(&good)
	z.Write([]byte("good (1) stable; urgency=medium\n"))
	z.Close()
	pkgs := []*Package{mk("damaged", []byte("not gzip")), mk("missing", nil), mk("good", good.Bytes())}
	links, err := writeChangelogs(repo, "c", t.TempDir(), "", pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links["pool/good.deb"] == "" {
		t.Errorf("links %v; want only good's", links)
	}
}

// A repository of several releases (the page takes a list, though publish
// writes one codename today): one column per release × arch, one anchor
// per package, still well-formed.
func TestRenderPageSeveralReleases(t *testing.T) {
	e := func(name, ver, arch string) Entry {
		return Entry{Name: name, Version: ver, Arch: arch, Summary: name + " summary", Filename: "pool/main/x/" + name + "_" + ver + "_" + arch + ".deb"}
	}
	s := Site{Label: "multi", KeyName: "k", Sources: []SourcesFile{{Name: "a.sources", Text: "A"}, {Name: "b.sources", Text: "B"}},
		Releases: []Release{
			{Codename: "bookworm", Archs: []string{"amd64", "arm64"}, Entries: []Entry{e("tool", "1.0-1~deb12", "amd64"), e("tool", "1.0-1~deb12", "arm64"), e("meta", "1", "all")}},
			{Codename: "trixie", Archs: []string{"amd64"}, Entries: []Entry{e("tool", "1.0-1~deb13", "amd64"), e("meta", "1", "all")}},
		}}
	out, err := RenderPage(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(out); err != nil {
		t.Fatal(err)
	}
	doc, _ := html.Parse(bytes.NewReader(out))
	var heads, cells []string
	for _, th := range elements(byID(doc, "packages"), "th") {
		heads = append(heads, text(th))
	}
	for _, tr := range elements(byID(doc, "packages"), "tr") {
		if attr(tr, "data-package") == "tool" || attr(tr, "data-package") == "meta" {
			for _, td := range elements(tr, "td")[2:] {
				cells = append(cells, attr(tr, "data-package")+"="+text(td))
			}
		}
	}
	if got := strings.Join(heads, "|"); got != "Package|Summary|bookworm amd64|bookworm arm64|trixie amd64" {
		t.Errorf("columns %q", got)
	}
	if got := strings.Join(cells, " "); got != "meta=1 meta=1 meta=1 tool=1.0-1~deb12 tool=1.0-1~deb12 tool=1.0-1~deb13" {
		t.Errorf("cells %q", got)
	}
	if byID(doc, "sources-1") == nil || text(byID(doc, "sources-1")) != "B" {
		t.Error("second .sources missing")
	}
}

// A package's test results show in its row, one link per architecture
// to the log, with the reason as the link's title, escaped; an
// Architecture: all package gets one per architecture of its release,
// and an architecture without a result none.
func TestPageShowsTestResults(t *testing.T) {
	repo := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(repo, filepath.FromSlash(rel))
		testutil.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		testutil.Must(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("tests/bookworm-amd64/meta_1.json", `{"status":"passed"}`)
	write("tests/bookworm-amd64/meta_1.log", "log")
	failed, _ := json.Marshal(map[string]string{"status": "failed", "reason": "test x failed: " + hostile})
	write("tests/bookworm-arm64/meta_1.json", string(failed))
	write("tests/bookworm-arm64/meta_1.log", "log")
	kept := []*Package{{Name: "meta", Version: "1", Arch: "all", Filename: "pool/main/m/meta/meta_1_all.deb"},
		{Name: "tool", Version: "1", Arch: "arm64", Filename: "pool/main/t/tool/tool_1_arm64.deb"}}
	entries := siteEntries(repo, "bookworm", []string{"amd64", "arm64", "riscv64"}, kept, nil)
	out, err := RenderPage(Site{Label: "l", KeyName: "k", Releases: []Release{{Codename: "bookworm", Archs: []string{"amd64", "arm64", "riscv64"}, Entries: entries}}})
	testutil.Must(t, err)
	testutil.Must(t, wellFormed(out))
	doc, _ := html.Parse(bytes.NewReader(out))
	var links []string
	for _, a := range elements(byID(doc, "debs"), "a") {
		if attr(a, "class") == "test" {
			links = append(links, attr(a, "data-status")+" "+attr(a, "href")+" "+text(a)+" | "+attr(a, "title"))
		}
	}
	want := []string{
		"passed tests/bookworm-amd64/meta_1.log tests amd64: passed | ",
		"failed tests/bookworm-arm64/meta_1.log tests arm64: failed | test x failed: " + hostile,
	}
	if strings.Join(links, "\n") != strings.Join(want, "\n") {
		t.Errorf("test links:\n%s\nwant:\n%s", strings.Join(links, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(string(out), "<script>document.title") {
		t.Error("a reason reached the page unescaped")
	}
}
