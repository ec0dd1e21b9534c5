//go:build integration

package source

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// Issue 11 item 1 with real autotools: a release tarball made by
// `make dist`, repacked so that configure.ac and Makefile.am come last
// (extraction order alone then makes them the newest files). Unpacked by
// ExtractTar, `./configure && make` must not try to re-run aclocal,
// automake or autoconf: they are set to `false`, standing for
// "aclocal-1.xx: not installed" on a build host.
func TestAutotoolsTarballBuildsWithoutAclocal(t *testing.T) {
	testutil.RequireTool(t, "autoreconf", "automake", "make")
	proj := t.TempDir()
	files := map[string]string{
		"configure.ac": "AC_INIT([hello], [1.0])\nAM_INIT_AUTOMAKE([foreign])\nAC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
		"Makefile.am":  "dist_bin_SCRIPTS = hello.sh\n",
		"hello.sh":     "#!/bin/sh\necho hello\n",
	}
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	for name, body := range files {
		p := filepath.Join(proj, name)
		testutil.Must(t, os.WriteFile(p, []byte(body), 0o755))
		testutil.Must(t, os.Chtimes(p, past, past))
	}
	run(t, proj, "autoreconf", "-i")
	run(t, proj, "./configure")
	run(t, proj, "make", "dist")
	release := reorder(t, filepath.Join(proj, "hello-1.0.tar.gz"), func(name string) bool {
		return strings.HasSuffix(name, "/configure.ac") || strings.HasSuffix(name, "/Makefile.am")
	})

	dst := t.TempDir()
	if err := ExtractTar(release, dst, 1); err != nil {
		t.Fatal(err)
	}
	run(t, dst, "./configure")
	run(t, dst, "make", "ACLOCAL=false", "AUTOMAKE=false", "AUTOCONF=false", "AUTOHEADER=false")
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// reorder rewrites a .tar.gz with the entries last(name) moves to the
// end, headers (and so mtimes) unchanged.
func reorder(t *testing.T, src string, last func(string) bool) string {
	t.Helper()
	in, err := os.Open(src)
	testutil.Must(t, err)
	defer in.Close()
	zr, err := gzip.NewReader(in)
	testutil.Must(t, err)
	type member struct {
		h    *tar.Header
		body []byte
	}
	var first, end []member
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		testutil.Must(t, err)
		body, err := io.ReadAll(tr)
		testutil.Must(t, err)
		if last(h.Name) {
			end = append(end, member{h, body})
		} else {
			first = append(first, member{h, body})
		}
	}
	if len(end) != 2 {
		t.Fatalf("expected configure.ac and Makefile.am in the dist tarball, moved %d entries", len(end))
	}
	dst := filepath.Join(t.TempDir(), "hello-1.0.tar.gz")
	out, err := os.Create(dst)
	testutil.Must(t, err)
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	for _, m := range append(first, end...) {
		testutil.Must(t, tw.WriteHeader(m.h))
		_, err := tw.Write(m.body)
		testutil.Must(t, err)
	}
	testutil.Must(t, tw.Close())
	testutil.Must(t, zw.Close())
	testutil.Must(t, out.Close())
	return dst
}
