// Package scaffold writes the first spec of a new component from its
// unpacked, verified source: the license (matched against the texts Debian
// ships in /usr/share/common-licenses), the build kind and, for Go, the
// main packages under cmd/. It reads the source tree and renders text; it
// runs nothing.
package scaffold

import (
	"bytes"
	"cmp"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/licensecheck"
)

// Source is the verified source a spec is made for.
type Source struct {
	// Kind is go_module, tarball or git.
	Kind string
	// GoModule is "module@version"; Sum its h1 hash.
	GoModule, Sum string
	// Tarball is the URL; SHA256 its digest.
	Tarball, SHA256 string
	// Git is the URL, Tag the tag and Commit what it points to.
	Git, Tag, Commit string
}

// Guess is what the source tree says about itself.
type Guess struct {
	// License is an SPDX id, or "" when no common license matched.
	License string
	// LicenseFile is the file the license was read from.
	LicenseFile string
	// Classified is set when License was found by the license classifier
	// rather than in /usr/share/common-licenses: the spec then names
	// LicenseFile as the text to ship. Found lists every license the
	// classifier saw when it could not settle on one.
	Classified bool
	Found      []string
	// Kind is go, autotools or make; "" when nothing says.
	Kind string
	// Binaries are Go main packages: "./cmd/x" -> "x".
	Binaries []Binary
	// BuildDepends are the packages the build kind needs beyond the
	// root's: autoreconf's tools when there is no configure script.
	BuildDepends []string
	// ManPages maps a page's name ("x.1") to its file in the tree, for
	// the pages upstream ships.
	ManPages map[string]string
}

// Binary is one Go main package.
type Binary struct{ Main, Name string }

// Inspect reads the tree at dir. commonDir is /usr/share/common-licenses.
func Inspect(dir, commonDir string, common map[string]string) (Guess, error) {
	var g Guess
	g.License, g.LicenseFile = GuessLicense(dir, commonDir, common)
	if g.License == "" && g.LicenseFile != "" {
		if text, err := os.ReadFile(filepath.Join(dir, g.LicenseFile)); err == nil {
			g.Found = ClassifyLicense(text)
			if len(g.Found) == 1 {
				g.License, g.Classified, g.Found = g.Found[0], true, nil
			}
		}
	}
	has := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	switch {
	case has("go.mod"):
		g.Kind = "go"
		bins, err := mainPackages(dir)
		if err != nil {
			return g, err
		}
		g.Binaries = bins
	case has("configure"):
		g.Kind = "autotools"
	case has("configure.ac"):
		g.Kind = "autotools"
		g.BuildDepends = autoreconfDepends(dir)
	case has("Makefile") || has("GNUmakefile") || has("makefile"):
		g.Kind = "make"
	}
	g.ManPages = manPages(dir)
	return g, nil
}

// autoreconfDepends lists what autoreconf --install needs for the
// configure.ac in dir: autoconf always; automake, libtool, pkg-config's
// macros and gettext's autopoint where configure.ac calls for them.
func autoreconfDepends(dir string) []string {
	ac, _ := os.ReadFile(filepath.Join(dir, "configure.ac"))
	deps := []string{"autoconf"}
	for _, d := range []struct{ pkg, macro string }{
		{"automake", "AM_INIT_AUTOMAKE"}, {"libtool", "LT_INIT"}, {"libtool", "AC_PROG_LIBTOOL"},
		{"pkgconf", "PKG_CHECK_MODULES"}, {"autopoint", "AM_GNU_GETTEXT"},
	} {
		if bytes.Contains(ac, []byte(d.macro)) && !slices.Contains(deps, d.pkg) {
			deps = append(deps, d.pkg)
		}
	}
	return deps
}

// manPageName is a roff page's file name: NAME.SECTION, section 1 to 8.
var manPageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*\.[1-8]$`)

// manPages finds the manual pages upstream ships, three directories deep
// at most, leaving out vendored and test trees; the first of a name wins.
func manPages(dir string) map[string]string {
	pages := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel != "." && (strings.Count(rel, string(filepath.Separator)) >= 3 || d.Name() == "vendor" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && manPageName.MatchString(d.Name()) && pages[d.Name()] == "" {
			pages[d.Name()] = filepath.ToSlash(rel)
		}
		return nil
	})
	return pages
}

// mainPackages lists the main packages in cmd/*/, or the module root when
// cmd/ has none.
func mainPackages(dir string) ([]Binary, error) {
	var out []Binary
	entries, _ := os.ReadDir(filepath.Join(dir, "cmd"))
	for _, e := range entries {
		if e.IsDir() && isMain(filepath.Join(dir, "cmd", e.Name())) {
			out = append(out, Binary{Main: "./cmd/" + e.Name(), Name: e.Name()})
		}
	}
	if len(out) == 0 && isMain(dir) {
		out = append(out, Binary{Main: ".", Name: ""})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Main < out[j].Main })
	return out, nil
}

func isMain(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
		if err == nil && ast.Name.Name == "main" {
			return true
		}
	}
	return false
}

var licenseNames = regexp.MustCompile(`(?i)^(LICEN[CS]E|COPYING)(\.(txt|md|rst))?$`)

// GuessLicense compares the source's license file with each text Debian
// ships and returns the SPDX id whose text it holds ("" when none does).
// The comparison is by word 5-grams, so reflowed text and an added
// appendix or copyright line still match while another license does not.
func GuessLicense(dir, commonDir string, common map[string]string) (id, file string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", ""
	}
	for _, e := range entries {
		if e.Type().IsRegular() && licenseNames.MatchString(e.Name()) {
			file = e.Name()
			break
		}
	}
	if file == "" {
		return "", ""
	}
	text, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", file
	}
	have := grams(string(text))
	ids := make([]string, 0, len(common))
	for k := range common {
		ids = append(ids, k)
	}
	sort.Strings(ids) // "-only" sorts before "-or-later": the narrower claim
	best, bestScore := "", 0.0
	for _, k := range ids {
		ref, err := os.ReadFile(filepath.Join(commonDir, common[k]))
		if err != nil {
			continue
		}
		want := grams(string(ref))
		if len(want) == 0 {
			continue
		}
		found := 0
		for g := range want {
			if have[g] {
				found++
			}
		}
		// Most of Debian's text must be there, and the file must be
		// mostly that text (not a long file quoting it).
		score := float64(found) / float64(len(want))
		if score >= 0.9 && float64(found)/float64(len(have)) >= 0.5 && score > bestScore {
			best, bestScore = k, score
		}
	}
	return best, file
}

var word = regexp.MustCompile(`[a-z0-9]+`)

// ClassifyLicense names the licenses a license file's text holds (SPDX
// ids, sorted, each once) with Google's license classifier; nothing when
// under three quarters of the text is license text it knows.
func ClassifyLicense(text []byte) []string {
	cov := licensecheck.Scan(text)
	if cov.Percent < 75 {
		return nil
	}
	var ids []string
	for _, m := range cov.Match {
		if !slices.Contains(ids, m.ID) {
			ids = append(ids, m.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func grams(s string) map[string]bool {
	w := word.FindAllString(strings.ToLower(s), -1)
	out := map[string]bool{}
	for i := 0; i+5 <= len(w); i++ {
		out[strings.Join(w[i:i+5], " ")] = true
	}
	return out
}

// placeholderSummary is the summary new writes, for the user to replace.
const placeholderSummary = "program built from its upstream release"

// writeManPages gives each Go program a manual page (lintian warns of a
// program without one). A program whose page upstream ships gets that
// page: its name and path are returned, for package.contents. For the
// others it writes the build_depends and post_steps that make the page
// from --help with help2man; --version-string spares help2man a
// --version that a flag-package program would refuse, and running the
// program by name from PATH keeps the build path out of the page.
func writeManPages(b *strings.Builder, name string, bins []Binary, upstream map[string]string) map[string]string {
	if len(bins) == 0 {
		bins = []Binary{{Name: name}}
	}
	shipped := map[string]string{}
	var made []string
	for _, bin := range bins {
		n := cmp.Or(bin.Name, name)
		if page := upstreamPage(n, upstream); page != "" {
			shipped[page] = upstream[page]
		} else {
			made = append(made, n)
		}
	}
	if len(made) == 0 {
		return shipped
	}
	b.WriteString("  build_depends: [help2man]\n")
	b.WriteString("  # Manual pages from each program's --help, where upstream ships none.\n")
	b.WriteString("  post_steps:\n    - mkdir -p \"$DESTDIR/usr/share/man/man1\"\n")
	for _, n := range made {
		fmt.Fprintf(b, "    - >-\n      PATH=\"$DESTDIR/usr/bin:$PATH\" help2man --no-info --no-discard-stderr\n"+
			"      --version-string \"$VERSION\" --name %s\n      --output \"$DESTDIR/usr/share/man/man1/%s.1\" %s\n",
			strconv.Quote(placeholderSummary), n, n)
	}
	return shipped
}

// upstreamPage is the name of program n's page among upstream's,
// section 1 before 8.
func upstreamPage(n string, upstream map[string]string) string {
	for _, sec := range "18" {
		if page := n + "." + string(sec); upstream[page] != "" {
			return page
		}
	}
	return ""
}

// writeUpstreamPages ships upstream's pages (name -> file in the tree).
func writeUpstreamPages(b *strings.Builder, pages map[string]string) {
	if len(pages) == 0 {
		return
	}
	names := slices.Sorted(maps.Keys(pages))
	b.WriteString("package:\n  # Upstream's manual pages.\n  contents:\n")
	for _, page := range names {
		sec := page[len(page)-1:]
		fmt.Fprintf(b, "    - {src: %s, dst: %s}\n", strconv.Quote(pages[page]), strconv.Quote("/usr/share/man/man"+sec+"/"+page))
	}
}

// Spec renders the spec text. version is the upstream version (no "v").
func Spec(name, version, homepage string, src Source, g Guess) string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, "# Written by 'debforge new'; check every value, then 'debforge validate'.\n")
	// lintian wants a synopsis that does not start with the package name.
	b.WriteString("# TODO: say in summary what it does, in under 80 characters, without its name first.\n")
	fmt.Fprintf(&b, "name: %s\nversion: %s\nsummary: %s\ndescription: |\n  %s is built from its upstream release by debforge.\n", name, q(version), q(placeholderSummary), name)
	switch {
	case g.Classified:
		fmt.Fprintf(&b, "# %s holds the %s license (license classifier); its text is shipped as the copyright.\nlicense: %s\nlicense_file: %s\n", g.LicenseFile, g.License, g.License, q(g.LicenseFile))
	case g.License != "":
		fmt.Fprintf(&b, "# Matched %s against /usr/share/common-licenses.\nlicense: %s\n", g.LicenseFile, g.License)
	default:
		hint := "no license file found"
		if g.LicenseFile != "" {
			hint = g.LicenseFile + " matches no text in /usr/share/common-licenses"
		}
		if len(g.Found) > 0 {
			hint = g.LicenseFile + " holds several licenses (" + strings.Join(g.Found, ", ") + ")"
		}
		fmt.Fprintf(&b, "# TODO: %s. Set license to its SPDX id and license_file to the file.\nlicense: TODO\n", hint)
	}
	if homepage != "" {
		fmt.Fprintf(&b, "homepage: %s\n", q(homepage))
	}
	b.WriteString("source:\n")
	switch src.Kind {
	case "go_module":
		fmt.Fprintf(&b, "  go_module: %s\n  sum: %s\n", src.GoModule, q(src.Sum))
	case "tarball":
		fmt.Fprintf(&b, "  tarball: %s\n  sha256: %s\n", q(src.Tarball), src.SHA256)
	case "git":
		fmt.Fprintf(&b, "  git: %s\n  tag: %s\n  commit: %s\n", q(src.Git), q(src.Tag), src.Commit)
	}
	b.WriteString("build:\n")
	switch g.Kind {
	case "go":
		b.WriteString("  kind: go\n  binaries:\n")
		for _, bin := range g.Binaries {
			n := bin.Name
			if n == "" {
				n = name
			}
			fmt.Fprintf(&b, "    - {main: %s, dst: %s}\n", q(bin.Main), q("/usr/bin/"+n))
		}
		if len(g.Binaries) == 0 {
			b.WriteString("    # TODO: no main package found under cmd/ or at the root\n    - {main: ., dst: /usr/bin/" + name + "}\n")
		}
		pages := writeManPages(&b, name, g.Binaries, g.ManPages)
		writeUpstreamPages(&b, pages)
	case "autotools":
		b.WriteString("  kind: autotools\n")
		if len(g.BuildDepends) > 0 {
			b.WriteString("  # No configure script: autoreconf makes it. Add the -dev packages configure needs.\n")
			fmt.Fprintf(&b, "  build_depends: [%s]\n", strings.Join(g.BuildDepends, ", "))
		} else {
			b.WriteString("  # build_depends: [...]  (the -dev packages configure needs)\n")
		}
	case "make":
		b.WriteString("  kind: make\n  # build_depends: [...]\n")
	default:
		b.WriteString("  # TODO: neither go.mod, configure nor a Makefile; write the steps.\n  kind: script\n  steps: ['false']\n")
	}
	return b.String()
}
