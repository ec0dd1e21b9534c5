package packaging

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/testutil"
)

// Issue 11 item 2 (dh_compress, dh_installman): compressed pages and
// docs, symlinks (and links to links) repointed, .so pages as symlinks,
// small docs, copyright and examples left alone, no info dir index.
func TestDocsCompressedLikeDebhelper(t *testing.T) {
	in := fixture(t)
	stage := in.StageDir
	write := func(rel, data string) {
		p := filepath.Join(stage, rel)
		testutil.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, rel string) {
		if err := os.Symlink(target, filepath.Join(stage, rel)); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("a line of documentation\n", 200)
	write("usr/share/man/man1/hello.1", ".TH HELLO 1\n.SH NAME\nhello \\- greet\n")
	write("usr/share/man/man8/hello-so.8", ".\\\" a comment\n.so man1/hello.1\n")
	write("usr/share/man/man8/dangling-so.8", ".so man1/missing.1\n")
	link("../man1/hello.1", "usr/share/man/man8/hello-link.8")
	link("hello-link.8", "usr/share/man/man8/hello-link2.8")
	write("usr/share/info/hello.info", "info\n")
	write("usr/share/info/dir", "index\n")
	write("usr/share/doc/hello-up/NEWS", "short news\n")
	write("usr/share/doc/hello-up/README", "short\n")
	write("usr/share/doc/hello-up/MANUAL", big)
	write("usr/share/doc/hello-up/index.html", big)
	write("usr/share/doc/hello-up/examples/big.conf", big)
	link("MANUAL", "usr/share/doc/hello-up/GUIDE")
	path, err := Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := debfile.ReadFile(path, debfile.Options{Data: true, Bodies: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range d.Data {
		got[strings.TrimPrefix(e.Name, ".")] = e.Linkname
		if strings.HasSuffix(e.Name, ".gz") && e.Linkname == "" {
			z, err := gzip.NewReader(bytes.NewReader(e.Body))
			if err != nil {
				t.Fatalf("%s: %v", e.Name, err)
			}
			if _, err := io.ReadAll(z); err != nil {
				t.Fatalf("%s: %v", e.Name, err)
			}
			if z.Name != "" || !z.ModTime.IsZero() || e.Body[8] != 2 {
				t.Errorf("%s: not gzip -9n (name %q, mtime %v, xfl %d)", e.Name, z.Name, z.ModTime, e.Body[8])
			}
		}
	}
	want := map[string]string{
		"/usr/share/man/man1/hello.1.gz":            "",
		"/usr/share/man/man8/hello-so.8.gz":         "../man1/hello.1.gz",
		"/usr/share/man/man8/dangling-so.8.gz":      "",
		"/usr/share/man/man8/hello-link.8.gz":       "../man1/hello.1.gz",
		"/usr/share/man/man8/hello-link2.8.gz":      "hello-link.8.gz",
		"/usr/share/info/hello.info.gz":             "",
		"/usr/share/doc/hello-up/NEWS.gz":           "",
		"/usr/share/doc/hello-up/README":            "",
		"/usr/share/doc/hello-up/MANUAL.gz":         "",
		"/usr/share/doc/hello-up/GUIDE.gz":          "MANUAL.gz",
		"/usr/share/doc/hello-up/index.html":        "",
		"/usr/share/doc/hello-up/examples/big.conf": "",
		"/usr/share/doc/hello-up/copyright":         "",
	}
	for name, target := range want {
		l, ok := got[name]
		if !ok {
			t.Errorf("missing %s", name)
		} else if l != target {
			t.Errorf("%s -> %q, want %q", name, l, target)
		}
	}
	for _, gone := range []string{"/usr/share/info/dir", "/usr/share/man/man1/hello.1", "/usr/share/doc/hello-up/MANUAL", "/usr/share/man/man8/hello-link.8"} {
		if _, ok := got[gone]; ok {
			t.Errorf("%s still shipped", gone)
		}
	}
}
