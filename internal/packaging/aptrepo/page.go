package aptrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/blakesmith/ar"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/packaging/debfile"
)

// PageFile and CSSFile are the front page's names at the repository root.
const (
	PageFile = "index.html"
	CSSFile  = "debforge.css"
)

//go:embed site/index.html.tmpl site/style.css
var siteFS embed.FS

var pageTmpl = template.Must(template.New("index.html.tmpl").Funcs(template.FuncMap{
	"join": strings.Join,
	"size": humanSize,
}).ParseFS(siteFS, "site/index.html.tmpl"))

// copyScript is the page's only script: it shows the Copy buttons and
// copies a .sources text. The page's Content-Security-Policy allows this
// script by its hash and nothing else, so even markup that slipped past
// escaping could not run, and the page can fetch nothing from elsewhere.
const copyScript = `document.querySelectorAll("button[data-copy]").forEach(function (b) {
  b.hidden = false;
  b.addEventListener("click", function () {
    var pre = document.getElementById(b.dataset.copy);
    window.getSelection().selectAllChildren(pre);
    if (navigator.clipboard) { navigator.clipboard.writeText(pre.textContent); } else { document.execCommand("copy"); }
    b.textContent = "Copied";
  });
});`

// PageCSP is the policy the page carries (and serve sends as a header).
var PageCSP = func() string {
	sum := sha256.Sum256([]byte(copyScript))
	return "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'"
}()

// pageRow is one row of the files table. Its fields are flat, not an
// embedded Entry: html/template finds embedded fields by a slow
// reflective search, which took a third of the render time.
type pageRow struct {
	Name, Version, Codename, Arch, SHA256, Filename string
	BuildDate, Buildinfo, SBOM, Changelog           string
	Tests                                           []TestLink
	Size                                            int64
	First                                           bool // first row of its package: the anchor the overview links to
}

type overviewRow struct {
	Name, Summary string
	Cells         []string // newest version per column; "" where none
}

type pageData struct {
	Site
	CSP, CSSFile string
	Script       template.JS
	Columns      []string
	Overview     []overviewRow
	Rows         []pageRow
}

// RenderPage renders the front page of s. html/template escapes every
// value, so package descriptions are shown as text.
func RenderPage(s Site) ([]byte, error) {
	d := pageData{Site: s, CSP: PageCSP, CSSFile: CSSFile, Script: template.JS(copyScript)}
	type col struct{ rel, arch string }
	var cols []col
	for _, r := range s.Releases {
		for _, a := range r.Archs {
			cols = append(cols, col{r.Codename, a})
			d.Columns = append(d.Columns, r.Codename+" "+a)
		}
	}
	newest := map[string]map[string]map[string]string{} // release -> name -> arch -> version
	rows := map[string]*overviewRow{}
	var names []string
	seen := map[string]bool{}
	for _, r := range s.Releases {
		newest[r.Codename] = r.Newest()
		for _, e := range r.Entries {
			if rows[e.Name] == nil {
				rows[e.Name] = &overviewRow{Name: e.Name, Summary: e.Summary}
				names = append(names, e.Name)
			}
			d.Rows = append(d.Rows, pageRow{Name: e.Name, Version: e.Version, Codename: r.Codename, Arch: e.Arch, SHA256: e.SHA256,
				Filename: e.Filename, BuildDate: e.BuildDate, Buildinfo: e.Buildinfo, SBOM: e.SBOM, Changelog: e.Changelog,
				Tests: e.Tests, Size: e.Size, First: !seen[e.Name]})
			seen[e.Name] = true
		}
	}
	sort.Strings(names)
	for _, n := range names {
		row := rows[n]
		for _, c := range cols {
			row.Cells = append(row.Cells, newest[c.rel][n][c.arch])
		}
		d.Overview = append(d.Overview, *row)
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", PageFile, err)
	}
	return buf.Bytes(), nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// writeChangelogs puts the text of each kept .deb's changelog.Debian.gz
// into snap/changelogs/ and returns the links by .deb Filename. A .deb
// never changes under its name (AddToPool refuses that), so a changelog
// already in the previous snapshot is hard-linked instead of extracted
// again: each .deb's payload is decompressed once, at its first publish,
// and those first extractions run in parallel.
func writeChangelogs(repoDir, codename, snap, prevSnap string, kept []*Package) (map[string]string, error) {
	dir := filepath.Join(snap, "changelogs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	found := make([]bool, len(kept))
	errs := make([]error, len(kept))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, p := range kept {
		name := path.Base(changelogLink(codename, p.Filename))
		dst := filepath.Join(dir, name)
		if prevSnap != "" && os.Link(filepath.Join(prevSnap, "changelogs", name), dst) == nil {
			found[i] = true
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			// A package without a readable changelog (none, or a
			// damaged one in a .deb that otherwise verified) gets no
			// link: show what exists, do not invent, and do not hold
			// back the publish for a page link.
			text, err := extractChangelog(filepath.Join(repoDir, filepath.FromSlash(p.Filename)), p.Name)
			if err != nil {
				return
			}
			errs[i] = writeFileSync(dst, text)
			found[i] = errs[i] == nil
		}()
	}
	wg.Wait()
	links := map[string]string{}
	for i, p := range kept {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if found[i] {
			links[p.Filename] = changelogLink(codename, p.Filename)
		}
	}
	return links, nil
}

var errNoChangelog = errors.New("no changelog in the package")

// maxChangelog bounds what one changelog may add to a snapshot.
const maxChangelog = 1 << 20

// extractChangelog returns the uncompressed /usr/share/doc/<pkg>/
// changelog.Debian.gz of a .deb.
func extractChangelog(debPath, pkg string) ([]byte, error) {
	f, err := os.Open(debPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := "usr/share/doc/" + pkg + "/changelog.Debian.gz"
	r := ar.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return nil, errNoChangelog
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimRight(h.Name, "/ ")
		if !strings.HasPrefix(name, "data.tar") {
			continue
		}
		dr, done, err := debfile.Decompressor(name, r)
		if err != nil {
			return nil, err
		}
		defer done()
		tr := tar.NewReader(dr)
		for {
			th, err := tr.Next()
			if err == io.EOF {
				return nil, errNoChangelog
			}
			if err != nil {
				return nil, err
			}
			if th.Typeflag != tar.TypeReg || strings.TrimPrefix(th.Name, "./") != want {
				continue
			}
			z, err := gzip.NewReader(io.LimitReader(tr, maxChangelog))
			if err != nil {
				return nil, err
			}
			text, err := io.ReadAll(io.LimitReader(z, maxChangelog))
			if err != nil {
				return nil, err
			}
			return text, nil
		}
	}
}

// writePage renders the page into the snapshot, so it swaps in with the
// indexes it describes.
func writePage(snap string, s Site) error {
	html, err := RenderPage(s)
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(snap, PageFile), html)
}

// linkPage points <repo>/index.html at the current snapshot's page and
// writes the stylesheet. The link target never changes, so once made it
// follows every later swap of dists/<codename> atomically.
func linkPage(cfg Config) error {
	css, err := siteFS.ReadFile("site/style.css")
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(filepath.Join(cfg.Dir, CSSFile)); err != nil || !bytes.Equal(old, css) {
		if err := atomicfile.Write(filepath.Join(cfg.Dir, CSSFile), css, 0o644); err != nil {
			return err
		}
	}
	link := filepath.Join(cfg.Dir, PageFile)
	target := path.Join("dists", cfg.releases()[0].Codename, PageFile)
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}
