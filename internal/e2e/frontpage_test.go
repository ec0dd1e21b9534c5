//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/testutil"
)

// hostileSummary would change the title and call home if the page ran it.
const hostileSummary = `evil <script>document.title='PWNED';fetch('/pwned')</script>`

// frontSpecs writes a specs dir of meta-packages (they build in
// milliseconds): front-a at version, and front-evil whose summary is
// markup.
func frontSpecs(t *testing.T, dir, version string) {
	t.Helper()
	files := map[string]string{
		"debforge.yaml": "maintainer: \"front test <front@example.org>\"\nlabel: front test\ncodename: fronttest\nkey_name: front-archive-keyring\nvalid_days: 7\nkeep: 2\n",
		"front-a.yaml":  "name: front-a\nversion: \"" + version + "\"\nsummary: the first front page fixture\ndescription: |\n  A plain package.\nlicense: Apache-2.0\ncopyright: 2026 test\n",
		"front-evil.yaml": "name: front-evil\nversion: \"1.0\"\nsummary: \"" + hostileSummary + "\"\ndescription: |\n  A <b>description</b> with markup.\n" +
			"license: Apache-2.0\ncopyright: 2026 test\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func frontRepo(t *testing.T) env {
	t.Helper()
	specs := t.TempDir()
	frontSpecs(t, specs, "1.0")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	return e
}

// startServe runs `debforge serve` on a free 127.0.0.1 port and returns
// its base URL ("http://127.0.0.1:PORT/").
func startServe(t *testing.T, out string) string {
	t.Helper()
	cmd := exec.Command(debforgeBin, "--out", out, "serve", "--addr", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("serve printed %q", base)
	}
	return base
}

// visit is what a headless chromium saw of one page load.
type visit struct {
	dom, title string
	requests   []string // every URL the page's tab requested
	dialogs    []string // alert/confirm/prompt messages: none expected
	screenshot []byte   // PNG of the whole page
	// After clicking the first Copy button: its label and the text the
	// page selected for the clipboard.
	copyLabel, selected string
}

// browse opens url in Debian's headless chromium (driven over the
// DevTools protocol), records every request of the page's tab, and
// returns the DOM after the page's scripts ran. The browser cannot
// resolve any name, so nothing can leave the machine even by mistake.
func browse(t *testing.T, pageURL string) visit {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("chromium"), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(1280, 1000),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	var v visit
	var mu sync.Mutex
	dialogs := make(chan struct{}, 16)
	err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			v.requests = append(v.requests, ev.Request.URL)
		case *page.EventJavascriptDialogOpening:
			v.dialogs = append(v.dialogs, ev.Message)
			select {
			case dialogs <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	go func() {
		for range dialogs {
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	defer close(dialogs)
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	err = chromedp.Do(bctx, chromedp.Navigate(pageURL), chromedp.WaitReady("body"),
		// Let anything the page might start (timers, fetches) happen.
		chromedp.Sleep(500*time.Millisecond))
	if err == nil {
		v.dom, err = chromedp.Run(bctx, chromedp.OuterHTML("html"))
	}
	if err == nil {
		v.title, err = chromedp.Run(bctx, chromedp.Title())
	}
	if err == nil {
		v.screenshot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
	}
	if err == nil {
		// A DOM click runs the page's own listener. (chromedp's mouse
		// Click did not return within 30 s here; not investigated.)
		_, err = chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector("button[data-copy]").click(), true`))
	}
	if err == nil {
		v.copyLabel, err = chromedp.Run(bctx, chromedp.Text("button[data-copy]"))
	}
	if err == nil {
		v.selected, err = chromedp.Run(bctx, chromedp.Evaluate[string]("window.getSelection().toString()"))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v", pageURL, err)
	}
	mu.Lock()
	defer mu.Unlock()
	v.requests = append([]string(nil), v.requests...)
	return v
}

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func eachNode(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		eachNode(c, fn)
	}
}

func attrOf(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	eachNode(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	eachNode(n, func(c *html.Node) {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	})
	return out
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func byIDAttr(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, _ := attrOf(n, "id"); return v == id }
}

// pageDebs returns "name version arch" -> link class (deb, buildinfo,
// sbom, changelog) -> href, from the page's files table.
func pageDebs(t *testing.T, doc *html.Node) map[string]map[string]string {
	t.Helper()
	tables := findAll(doc, byIDAttr("debs"))
	if len(tables) != 1 {
		t.Fatalf("page has %d files tables", len(tables))
	}
	out := map[string]map[string]string{}
	for _, tr := range findAll(tables[0], byTag("tr")) {
		name, ok := attrOf(tr, "data-package")
		if !ok {
			continue
		}
		ver, _ := attrOf(tr, "data-version")
		arch, _ := attrOf(tr, "data-arch")
		links := map[string]string{}
		for _, a := range findAll(tr, byTag("a")) {
			c, _ := attrOf(a, "class")
			links[c], _ = attrOf(a, "href")
		}
		out[name+" "+ver+" "+arch] = links
	}
	return out
}

// status is the HTTP status of a HEAD of base+rel.
func status(t *testing.T, base, rel string) int {
	t.Helper()
	resp, err := http.Head(base + rel)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// served fetches base+rel and fails on anything but 200.
func served(t *testing.T, base, rel string) []byte {
	t.Helper()
	resp, err := http.Get(base + rel)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", rel, resp.StatusCode, err)
	}
	return data
}

// indexed returns "name version arch" -> stanza fields of the served
// Packages index.
func indexed(t *testing.T, base string) map[string][]aptrepo.Field {
	t.Helper()
	out := map[string][]aptrepo.Field{}
	for _, st := range aptrepo.ParseStanzas(served(t, base, "dists/fronttest/main/binary-amd64/Packages")) {
		get := func(k string) string {
			for _, f := range st {
				if f.Name == k {
					return f.Value
				}
			}
			return ""
		}
		out[get("Package")+" "+get("Version")+" "+get("Architecture")] = st
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The page, opened in a real browser from `debforge serve`, lists what
// Packages lists, links .debs whose bytes match it, shows the .sources
// file byte for byte, shows markup in a summary as text without running
// it, and makes no request outside 127.0.0.1.
func TestFrontPageInBrowser(t *testing.T) {
	testutil.RequireTool(t, "chromium")
	e := frontRepo(t)
	base := startServe(t, e.out)
	u, _ := url.Parse(base)

	check := func(t *testing.T, wantRow string) visit {
		v := browse(t, base)
		doc := parseHTML(t, "<!DOCTYPE html>"+v.dom)
		rows := pageDebs(t, doc)
		idx := indexed(t, base)
		if got, want := strings.Join(sortedKeys(rows), "\n"), strings.Join(sortedKeys(idx), "\n"); got != want || !strings.Contains(got, wantRow) {
			t.Fatalf("page lists\n%s\nPackages lists\n%s\n(want %q)", got, want, wantRow)
		}
		for k, links := range rows {
			href := links["deb"]
			var filename, sum string
			for _, f := range idx[k] {
				switch f.Name {
				case "Filename":
					filename = f.Value
				case "SHA256":
					sum = f.Value
				}
			}
			ref, err := url.Parse(href)
			if err != nil || ref.IsAbs() || ref.Path != filename {
				t.Errorf("%s: .deb link %q, Packages Filename %q", k, href, filename)
				continue
			}
			got := sha256.Sum256(served(t, base, u.ResolveReference(ref).Path[1:]))
			if hex.EncodeToString(got[:]) != sum {
				t.Errorf("%s: downloaded %s has sha256 %x, Packages says %s", k, href, got, sum)
			}
			// Build records are linked exactly when they exist beside
			// the .deb; the changelog link works.
			stem := strings.TrimSuffix(filename, ".deb")
			for class, ext := range map[string]string{"buildinfo": ".buildinfo", "sbom": ".spdx.json"} {
				exists := status(t, base, stem+ext) == http.StatusOK
				if got, linked := links[class]; linked != exists || (linked && got != stem+ext) {
					t.Errorf("%s: %s link %q, %s exists: %v", k, class, got, stem+ext, exists)
				}
			}
			if cl := links["changelog"]; cl == "" || !strings.HasPrefix(string(served(t, base, cl)), strings.Fields(k)[0]+" (") {
				t.Errorf("%s: changelog link %q", k, cl)
			}
		}
		sources := string(served(t, base, "front-archive-keyring.sources"))
		pres := findAll(doc, byIDAttr("sources-0"))
		if len(pres) != 1 || textOf(pres[0]) != sources {
			t.Errorf("the page's .sources text is not the published file")
		}
		// The Copy button selects exactly the file's text.
		if v.copyLabel != "Copied" || strings.TrimRight(v.selected, "\n") != strings.TrimRight(sources, "\n") {
			t.Errorf("Copy: label %q, selected %q", v.copyLabel, v.selected)
		}
		// The copy button is shown by the page's own script: scripts do
		// run, so the hostile summary below had every chance.
		for _, b := range findAll(doc, byTag("button")) {
			if _, hidden := attrOf(b, "hidden"); hidden {
				t.Errorf("copy button still hidden: the page's script did not run")
			}
		}
		if v.title != "front test apt repository" || len(v.dialogs) > 0 {
			t.Errorf("title %q, dialogs %q: the summary's markup ran", v.title, v.dialogs)
		}
		if !strings.Contains(textOf(findAll(doc, byIDAttr("packages"))[0]), hostileSummary) {
			t.Errorf("the hostile summary is not shown as text")
		}
		if n := len(findAll(doc, byTag("script"))); n != 1 {
			t.Errorf("page has %d script elements, want 1", n)
		}
		// The page fetches its stylesheet and nothing else; never a
		// request outside debforge serve (the injected fetch('/pwned')
		// would show here too).
		var other []string
		for _, r := range v.requests {
			if !strings.HasPrefix(r, base) || strings.Contains(r, "pwned") {
				other = append(other, r)
			}
		}
		if len(other) > 0 || !slices.Contains(v.requests, base+"debforge.css") {
			t.Errorf("page requests %q; outside its own files: %q", v.requests, other)
		}
		return v
	}
	v := check(t, "front-a 1.0-1 all")
	shot := filepath.Join(t.ArtifactDir(), "frontpage.png")
	if !bytes.HasPrefix(v.screenshot, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a PNG")
	}
	if err := os.WriteFile(shot, v.screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	// Build records beside a .deb (where builds put them) are linked by
	// the next publish; the check above requires exactly that.
	evil := filepath.Join(e.out, "repo", "pool", "main", "f", "front-evil", "front-evil_1.0-1_all")
	for _, ext := range []string{".buildinfo", ".spdx.json"} {
		if _, err := os.Stat(evil + ext); os.IsNotExist(err) {
			if err := os.WriteFile(evil+ext, []byte("Format: 1.0\nBuild-Date: Sat, 28 Nov 2026 11:00:00 +0000\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A publish that adds a version: the page shows it.
	frontSpecs(t, e.specs, "1.1")
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build 1.1: exit %d\n%s", r.code, r.stderr)
	}
	check(t, "front-a 1.1-1 all")

}

// Killing a build while it publishes never leaves a page that disagrees
// with the signed index: the page swaps in with the snapshot.
func TestFrontPageFollowsInterruptedPublish(t *testing.T) {
	e := frontRepo(t)
	repo := filepath.Join(e.out, "repo")
	keyring := filepath.Join(repo, "front-archive-keyring.gpg")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	changed := 0
	prev := ""
	for i := 0; i < 12; i++ {
		// Each iteration's version is above every earlier one (2.9j, then
		// 2.10k): a killed build may have published it, and debforge
		// refuses a version below the published one.
		frontSpecs(t, e.specs, "2."+strconv.Itoa(i)+string(rune('a'+i)))
		cmd := exec.Command(debforgeBin, "--specs", e.specs, "--out", e.out, "--cache-dir", e.cache, "--signing-key", e.key, "build", "all")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		r := debforge(t, "--specs", e.specs, "list", "--repo", repo, "--keyring", keyring)
		if r.code != 0 {
			t.Fatalf("after kill #%d list --repo: exit %d\n%s", i, r.code, r.stderr)
		}
		var listed []string
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			f := strings.Fields(line)
			listed = append(listed, f[0]+" "+f[1]+" "+f[3])
		}
		sort.Strings(listed)
		page, err := os.ReadFile(filepath.Join(repo, "index.html"))
		if err != nil {
			t.Fatalf("after kill #%d: %v", i, err)
		}
		got := strings.Join(sortedKeys(pageDebs(t, parseHTML(t, string(page)))), "\n")
		if want := strings.Join(listed, "\n"); got != want {
			t.Fatalf("after kill #%d the page lists\n%s\nthe signed index lists\n%s", i, got, want)
		}
		if got != prev {
			changed++
		}
		prev = got
	}
	t.Logf("the published set changed in %d of 12 interrupted builds", changed)
	if r := e.run(t, "build", "all"); r.code != 0 {
		t.Fatalf("build after the kills: exit %d\n%s", r.code, r.stderr)
	}
}

// list --repo prints the served repository's table after verifying it,
// and refuses one whose InRelease does not verify.
func TestListRepo(t *testing.T) {
	e := frontRepo(t)
	base := startServe(t, e.out)
	keyring := filepath.Join(e.out, "repo", "front-archive-keyring.gpg")
	r := debforge(t, "list", "--repo", base, "--keyring", keyring, "--dist", "fronttest")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "PACKAGE") || !strings.Contains(r.stderr, "InRelease verified") {
		t.Fatalf("list --repo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		f := strings.Fields(line)
		listed = append(listed, f[0]+" "+f[1]+" "+f[3])
	}
	sort.Strings(listed)
	if got, want := strings.Join(listed, "\n"), strings.Join(sortedKeys(indexed(t, base)), "\n"); got != want {
		t.Errorf("list --repo printed\n%s\nPackages lists\n%s", got, want)
	}
	if !strings.Contains(r.stdout, hostileSummary) {
		t.Errorf("summary missing:\n%s", r.stdout)
	}

	pub, err := os.ReadFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := aptrepo.ReadPublicKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	fpr := aptrepo.KeyFingerprint(keys[0])
	if r := debforge(t, "list", "--repo", base, "--fingerprint", fpr, "--dist", "fronttest", "--key-name", "front-archive-keyring"); r.code != 0 {
		t.Errorf("--fingerprint %s: exit %d\n%s", fpr, r.code, r.stderr)
	}
	if r := debforge(t, "list", "--repo", base, "--fingerprint", strings.Repeat("A", 40), "--dist", "fronttest", "--key-name", "front-archive-keyring"); r.code != 1 || r.stdout != "" {
		t.Errorf("wrong --fingerprint: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := debforge(t, "list", "--repo", base, "--dist", "fronttest"); r.code != 2 || !strings.Contains(r.stderr, "--keyring FILE or --fingerprint FPR") {
		t.Errorf("no key: exit %d\n%s", r.code, r.stderr)
	}

	// A copy of the repository whose InRelease was edited after signing.
	bad := t.TempDir()
	sh(t, "cp", "-a", e.out, bad)
	inRelease := filepath.Join(bad, "out", "repo", "dists", "fronttest", "InRelease")
	data, err := os.ReadFile(inRelease)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(inRelease)
	testutil.Must(t, os.WriteFile(inRelease, bytes.Replace(data, []byte("Label: front test"), []byte("Label: front tesT"), 1), 0o644))
	badBase := startServe(t, filepath.Join(bad, "out"))
	r = debforge(t, "list", "--repo", badBase, "--keyring", keyring, "--dist", "fronttest")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "repository not verified") || !strings.Contains(r.stderr, "does not verify") {
		t.Errorf("tampered InRelease: exit %d\nstdout %q\n%s", r.code, r.stdout, r.stderr)
	}
}
