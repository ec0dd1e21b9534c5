//go:build integration

package source

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// Issue 9 item 1, patches: a patch must not reach the host through a link
// the source keeps (vendor -> <host dir>, link -> <host file>), nor through
// a link the patch itself creates. git apply refuses paths "beyond a
// symbolic link"; this pins that we rely on it with the real git.
func TestIssue9Item1PatchesThroughSymlink(t *testing.T) {
	testutil.RequireTool(t, "git")
	patches := map[string]string{
		"modify-through-dir-link.patch": "diff --git a/vendor/data/keep b/vendor/data/keep\n--- a/vendor/data/keep\n+++ b/vendor/data/keep\n@@ -1 +1 @@\n-keep\n+pwned\n",
		"create-through-dir-link.patch": "diff --git a/vendor/data/new b/vendor/data/new\nnew file mode 100644\n--- /dev/null\n+++ b/vendor/data/new\n@@ -0,0 +1 @@\n+pwned\n",
		"modify-file-link.patch":        "diff --git a/link b/link\n--- a/link\n+++ b/link\n@@ -1 +1 @@\n-host secret\n+pwned\n",
		"link-then-file.patch": "diff --git a/v2 b/v2\nnew file mode 120000\n--- /dev/null\n+++ b/v2\n@@ -0,0 +1 @@\n+HOST\n\\ No newline at end of file\n" +
			"diff --git a/v2/data/new b/v2/data/new\nnew file mode 100644\n--- /dev/null\n+++ b/v2/data/new\n@@ -0,0 +1 @@\n+pwned\n",
	}
	for name, body := range patches {
		t.Run(name, func(t *testing.T) {
			host := hostDir(t)
			src, specDir := t.TempDir(), t.TempDir()
			must(t, os.Symlink(host, filepath.Join(src, "vendor")))
			must(t, os.Symlink(filepath.Join(host, "secret"), filepath.Join(src, "link")))
			must(t, os.WriteFile(filepath.Join(specDir, name), []byte(strings.ReplaceAll(body, "HOST", host)), 0o644))
			c := &spec.Component{Name: "x", Dir: specDir, Source: &spec.Source{Dir: ".", Patches: []string{name}}}
			fe := &Fetched{Kind: "dir", Path: src}
			err := (&Fetcher{Runner: execx.OS{}}).Prepare(context.Background(), c, fe, t.TempDir(), io.Discard)
			if err == nil {
				t.Error("the patch applied through a link")
			}
			// git's reason: a path through a link, or (a patch of the
			// link itself) the link's text, which is not the host file's.
			want := "is beyond a symbolic link"
			if name == "modify-file-link.patch" {
				want = "link: patch does not apply"
			}
			if err != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want git apply's %q", err, want)
			}
			if b, _ := os.ReadFile(filepath.Join(host, "secret")); string(b) != "host secret\n" {
				t.Errorf("host file changed: %q", b)
			}
			checkHostIntact(t, host)
		})
	}
}

// Issue 9 item 16 with the real git: the URL "--upload-pack=…" is taken
// as a repository name (and not found), not as an option.
func TestIssue9Item16GitURLOptionRealGit(t *testing.T) {
	testutil.RequireTool(t, "git")
	url := "--upload-pack=touch " + filepath.Join(t.TempDir(), "pwned") + ";"
	c := &spec.Component{Name: "x", Source: &spec.Source{Git: url, Tag: "v1", Commit: strings.Repeat("a", 40)}}
	_, err := (&Fetcher{CacheDir: t.TempDir(), Runner: execx.OS{}}).Fetch(context.Background(), c, "", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "repository '"+url+"' does not exist") {
		t.Errorf("err = %v, want git to look for a repository named by the URL", err)
	}
}
