package source

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
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
