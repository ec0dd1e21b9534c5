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
func TestPatchesThroughSymlink(t *testing.T) {
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
			testutil.Must(t, os.Symlink(host, filepath.Join(src, "vendor")))
			testutil.Must(t, os.Symlink(filepath.Join(host, "secret"), filepath.Join(src, "link")))
			testutil.Must(t, os.WriteFile(filepath.Join(specDir, name), []byte(strings.ReplaceAll(body, "HOST", host)), 0o644))
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
func TestGitURLOptionRealGit(t *testing.T) {
	testutil.RequireTool(t, "git")
	url := "--upload-pack=touch " + filepath.Join(t.TempDir(), "pwned") + ";"
	c := &spec.Component{Name: "x", Source: &spec.Source{Git: url, Tag: "v1", Commit: strings.Repeat("a", 40)}}
	_, err := (&Fetcher{CacheDir: t.TempDir(), Runner: execx.OS{}}).Fetch(context.Background(), c, "", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "repository '"+url+"' does not exist") {
		t.Errorf("err = %v, want git to look for a repository named by the URL", err)
	}
}

// An unpacked archive is never interpreted by a host tool: a tarball that
// carries top/.git/config with a filter whose clean and smudge commands
// run a shell command, and a .gitattributes that applies it to every
// file, must not make git apply (which runs on the host, as the invoking
// user) run that command. The files are the invoking user's, as they are
// for a non-root user, so git's ownership check does not stop it. The
// same through a gitfile (top/.git a file naming a repository elsewhere
// on the host), and through a filter of the invoking user's own global
// configuration that the archive's .gitattributes names.
func TestPatchNeverRunsAnArchivesGitConfig(t *testing.T) {
	testutil.RequireTool(t, "git")
	marker := filepath.Join(t.TempDir(), "filter-ran")
	run := `"touch ` + marker + `; cat"`
	config := "[core]\n\trepositoryformatversion = 0\n\tbare = false\n[filter \"ev\"]\n\tclean = " + run + "\n\tsmudge = " + run + "\n"
	elsewhere := t.TempDir()
	testutil.Must(t, os.MkdirAll(filepath.Join(elsewhere, "objects"), 0o755))
	testutil.Must(t, os.MkdirAll(filepath.Join(elsewhere, "refs", "heads"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(elsewhere, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(elsewhere, "config"), []byte(config), 0o644))
	home := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(config), 0o644))
	t.Setenv("HOME", home)
	tree := []entry{
		{name: "top/", typ: '5'},
		{name: "top/.gitattributes", body: "* filter=ev\n"},
		{name: "top/a.txt", body: "one\n"},
	}
	cases := map[string][]entry{
		"repository in the archive": append([]entry{
			{name: "top/.git/", typ: '5'},
			{name: "top/.git/HEAD", body: "ref: refs/heads/main\n"},
			{name: "top/.git/config", body: config},
			{name: "top/.git/objects/", typ: '5'},
			{name: "top/.git/refs/", typ: '5'},
			{name: "top/.git/refs/heads/", typ: '5'},
		}, tree...),
		"gitfile to a host repository": append([]entry{{name: "top/.git", body: "gitdir: " + elsewhere + "\n"}}, tree...),
		"the user's global filter":     tree,
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			archive := writeTarGz(t, entries)
			specDir := t.TempDir()
			testutil.Must(t, os.WriteFile(filepath.Join(specDir, "fix.patch"), []byte("diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"), 0o644))
			strip := 1
			c := &spec.Component{Name: "x", Dir: specDir, Source: &spec.Source{Tarball: "https://example.org/x.tar.gz", StripComponents: &strip, Patches: []string{"fix.patch"}}}
			dst := filepath.Join(t.TempDir(), "src")
			err := (&Fetcher{Runner: execx.OS{}}).Prepare(context.Background(), c, &Fetched{Kind: "tarball", Path: archive}, dst, io.Discard)
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if _, err := os.Stat(marker); err == nil {
				os.Remove(marker)
				t.Error("git apply ran a filter command on the host")
			}
			if b, _ := os.ReadFile(filepath.Join(dst, "a.txt")); string(b) != "two\n" {
				t.Errorf("a.txt after the patch: %q", b)
			}
			if _, err := os.Lstat(filepath.Join(dst, ".git")); err == nil {
				t.Error("the archive's .git is in the source tree")
			}
		})
	}
}
