//go:build integration

package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// Issue 11 item 2: what dh_installman and dh_compress do. A package whose
// build installs an uncompressed man page, a .so man page, an info page
// with the info dir index and a long upstream changelog passes lintian
// with no error or warning.
func TestDocsCompressedLikeDebhelper(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb", "lintian")
	e := newEnv(t, "testdata/docspecs")
	r := e.run(t, "build", "hello-pages")
	if r.code != 0 {
		t.Fatalf("build failed (exit %d):\n%s", r.code, r.stderr)
	}
	deb := strings.TrimSpace(r.stdout)
	contents := sh(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{
		"./usr/share/man/man1/hello-pages.1.gz\n",
		"./usr/share/man/man1/hello-pages-alias.1.gz -> hello-pages.1.gz\n",
		"./usr/share/info/hello-pages.info.gz\n",
		"./usr/share/doc/hello-pages/changelog.gz\n",
		"./usr/share/doc/hello-pages/README\n",
		"./usr/share/doc/hello-pages/copyright\n",
	} {
		if !strings.Contains(contents, want) {
			t.Errorf("the package lacks %q:\n%s", strings.TrimSpace(want), contents)
		}
	}
	if strings.Contains(contents, "./usr/share/info/dir") {
		t.Errorf("the package ships the info dir index:\n%s", contents)
	}
	cmd := exec.Command("lintian", "-EvIL", "+pedantic", "--fail-on", "error,warning", "--tag-display-limit", "0", deb)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("lintian exit: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") ||
			strings.Contains(line, "uncompressed-manual-page") || strings.Contains(line, "info-document-not-compressed") {
			t.Errorf("lintian: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("lintian output:\n%s", out)
	}
}
