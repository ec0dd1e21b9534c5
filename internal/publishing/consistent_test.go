package publishing_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/cli"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/publishing"
	"github.com/debforge/debforge/internal/testutil"
)

// Issue 9 item 6: "the build must fail if the repository is not
// consistent". A publish step that returns nil but leaves the pool
// without a file its index lists (a lost write, a disk that lied) must
// still make publish exit 1 and say so.
func TestInconsistentAfterPublishFails(t *testing.T) {
	tmp := t.TempDir()
	specs := filepath.Join(tmp, "specs")
	testutil.Must(t, os.MkdirAll(specs, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"T <t@example.org>\"\ncodename: kt\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(specs, "meta.yaml"), []byte("name: meta\nversion: \"1.0\"\nsummary: s\ndescription: d\nlicense: MIT\n"), 0o644))
	out := filepath.Join(tmp, "out")
	base := []string{"--specs", specs, "--out", out, "--cache-dir", filepath.Join(tmp, "cache"), "--signing-key", filepath.Join(tmp, "key.asc")}
	var stdout, stderr bytes.Buffer
	if code := cli.Execute(context.Background(), append(base, "keygen"), &stdout, &stderr); code != cli.ExitOK {
		t.Fatalf("keygen: exit %d\n%s", code, stderr.String())
	}
	var lost []string
	publishing.WrapPublishRepo(t, func(real func(aptrepo.Config) error) func(aptrepo.Config) error {
		return func(cfg aptrepo.Config) error {
			if err := real(cfg); err != nil {
				return err
			}
			debs, _ := filepath.Glob(filepath.Join(out, "repo", "pool", "*", "*", "*", "*.deb"))
			for _, d := range debs {
				testutil.Must(t, os.Remove(d))
				lost = append(lost, filepath.Base(d))
			}
			return nil
		}
	})
	stdout.Reset()
	stderr.Reset()
	code := cli.Execute(context.Background(), append(base, "publish"), &stdout, &stderr)
	if len(lost) == 0 {
		t.Fatal("the publish step wrote no .deb to lose (the keyring package?)")
	}
	if code != cli.ExitFailed {
		t.Errorf("publish exit %d, want %d\n%s", code, cli.ExitFailed, stderr.String())
	}
	want := "repository " + filepath.Join(out, "repo") + " is not consistent after publishing: "
	if !strings.Contains(stderr.String(), "debforge: error: "+want) || !strings.Contains(stderr.String(), lost[0]) {
		t.Errorf("stderr lacks %q naming %s:\n%s", want, lost[0], stderr.String())
	}
	t.Logf("lost %v; stderr:\n%s", lost, stderr.String())
}
