package source

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// Issue 9 item 16 (git part): a git URL starting with "-" reached git as
// an option. "--" ends the options, so the URL is always a repository.
func TestGitURLIsNeverAnOption(t *testing.T) {
	fake := &execx.Fake{}
	url := "--upload-pack=touch /tmp/debforge-pwned;"
	c := &spec.Component{Name: "x", Source: &spec.Source{Git: url, Tag: "v1", Commit: strings.Repeat("a", 40)}}
	(&Fetcher{CacheDir: t.TempDir(), Runner: fake}).Fetch(context.Background(), c, "", io.Discard)
	if len(fake.Cmds) == 0 {
		t.Fatal("git clone did not run")
	}
	args := fake.Cmds[0].Args
	i := slices.Index(args, url)
	if i < 1 || args[i-1] != "--" || i != len(args)-2 {
		t.Errorf("git clone argv %q: want ... -- URL DIR", args)
	}
}

// A dir source is read once per run (one rev-parse, one hash), however
// many targets fetch it; the next run reads it again and sees a change.
func TestDirSourceIsReadOncePerRun(t *testing.T) {
	dir := t.TempDir()
	testutil.Must(t, os.Mkdir(filepath.Join(dir, ".git"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "main.c"), []byte("int main(void) { return 0; }\n"), 0o644))
	c := &spec.Component{Name: "x", Source: &spec.Source{Dir: dir}}
	fake := &execx.Fake{}
	run := &Fetcher{CacheDir: t.TempDir(), Runner: fake}
	var ids []string
	for range 4 {
		fe, err := run.Fetch(context.Background(), c, "", io.Discard)
		testutil.Must(t, err)
		ids = append(ids, fe.ID)
	}
	if len(fake.Cmds) != 1 || len(slices.Compact(slices.Clone(ids))) != 1 {
		t.Fatalf("four fetches ran %d commands and hashed %v; want one rev-parse and one hash", len(fake.Cmds), ids)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "main.c"), []byte("int main(void) { return 1; }\n"), 0o644))
	fe, err := (&Fetcher{CacheDir: run.CacheDir, Runner: fake}).Fetch(context.Background(), c, "", io.Discard)
	testutil.Must(t, err)
	if fe.ID == ids[0] {
		t.Errorf("the next run's fetch kept the old hash %s of a changed tree", fe.ID)
	}
}
