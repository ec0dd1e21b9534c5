//go:build integration

package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 9 item 2 through the real binary: a dir source (a git checkout
// copied the same way) keeps COPYING -> <host secret> and docs -> <host
// dir>. license_file and contents src must refuse to follow them, and no
// package of either component may appear. The "host" files are fakes made
// here, never the real /etc/shadow.
func TestIssue9Item2HostileDirSourceRefused(t *testing.T) {
	etc := t.TempDir()
	const secret = "root:$6$debforge-e2e-fake-shadow-hash:19000::::::\n"
	if err := os.WriteFile(filepath.Join(etc, "shadow"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	specs := t.TempDir()
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	src := filepath.Join(specs, "src", "evil")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "evil.sh"), []byte("#!/bin/sh\necho evil\n"), 0o755)
	must(t, os.Symlink(filepath.Join(etc, "shadow"), filepath.Join(src, "COPYING")))
	must(t, os.Symlink(etc, filepath.Join(src, "docs")))
	common := "version: 1.0.0\nsummary: hostile fixture\ndescription: |\n  Links out of its tree.\ncopyright: 2026 Nobody\n" +
		"source:\n  dir: src/evil\nbuild:\n  kind: script\n  steps:\n    - install -D -m 0755 \"$SRC/evil.sh\" \"$DESTDIR/usr/bin/evil\"\n"
	os.WriteFile(filepath.Join(specs, "evil-license.yaml"), []byte("name: evil-license\nlicense: MIT\nlicense_file: COPYING\n"+common+
		"package:\n  architecture: all\n"), 0o644)
	os.WriteFile(filepath.Join(specs, "evil-docs.yaml"), []byte("name: evil-docs\nlicense: Apache-2.0\n"+common+
		"package:\n  architecture: all\n  contents:\n    - {src: docs/shadow, dst: /usr/share/doc/evil-docs/shadow}\n"), 0o644)
	e := newEnv(t, specs)
	r := e.run(t, "build", "all")
	if r.code == 0 {
		t.Fatalf("build of hostile sources exited 0\n%s", r.stderr)
	}
	for _, want := range []string{"license_file: COPYING leads outside the source tree", "package.contents[0]: src: docs/shadow leads outside the source tree"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, dir := range []string{e.out, e.cache} {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), "evil-") && strings.HasSuffix(d.Name(), ".deb") {
				t.Errorf("a package of a hostile source was written: %s", p)
			}
			return nil
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
