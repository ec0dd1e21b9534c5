package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
)

// fakeSecret is a 0600 file standing for /etc/shadow, in a directory
// standing for /etc, outside every source tree.
const fakeSecret = "root:$6$debforge-test-fake-shadow-hash:19000:0:99999:7:::\n"

func fakeEtc(t *testing.T) string {
	t.Helper()
	etc := t.TempDir()
	if err := os.WriteFile(filepath.Join(etc, "shadow"), []byte(fakeSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	return etc
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// Issue 9 item 2: git and dir sources keep absolute symlinks, and
// packaging followed them: COPYING -> /etc/shadow with license_file, or
// docs -> /etc with contents src docs/shadow, put host secrets into a
// world-readable .deb. A link out of the source tree is never followed.
func TestLinksOutOfTreeNotFollowed(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, in *Input, etc string)
		want  string // in the error
	}{
		{"license_file COPYING -> /etc/shadow", func(t *testing.T, in *Input, etc string) {
			symlink(t, filepath.Join(etc, "shadow"), filepath.Join(in.SrcDir, "COPYING"))
			in.Component.License, in.Component.LicenseFile = "MIT", "COPYING"
		}, "license_file"},
		{"contents src docs/shadow with docs -> /etc", func(t *testing.T, in *Input, etc string) {
			symlink(t, etc, filepath.Join(in.SrcDir, "docs"))
			in.Component.Package.Contents = append(in.Component.Package.Contents,
				spec.Content{Src: "docs/shadow", Dst: "/usr/share/doc/hello-up/shadow"})
		}, "package.contents[2]"},
		// Not in the issue: a relative link that climbs out, and a replace
		// (which reads the file itself rather than handing nfpm a path).
		{"license_file through a relative link out", func(t *testing.T, in *Input, etc string) {
			rel, err := filepath.Rel(filepath.Join(in.SrcDir, "legal"), filepath.Join(etc, "shadow"))
			if err != nil {
				t.Fatal(err)
			}
			symlink(t, rel, filepath.Join(in.SrcDir, "legal", "COPYING"))
			in.Component.License, in.Component.LicenseFile = "MIT", "legal/COPYING"
		}, "license_file"},
		{"contents src with replace through a link out", func(t *testing.T, in *Input, etc string) {
			symlink(t, etc, filepath.Join(in.SrcDir, "conf"))
			in.Component.Package.Contents = append(in.Component.Package.Contents,
				spec.Content{Src: "conf/shadow", Dst: "/etc/hello-shadow", Replace: []spec.Replacement{{From: "root", To: "user"}}})
		}, "package.contents[2]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture(t)
			tc.setup(t, &in, fakeEtc(t))
			out := t.TempDir()
			deb, err := Build(in, out)
			if err == nil {
				data, _ := os.ReadFile(deb)
				t.Fatalf("built %s (secret inside: %v), want a refusal", deb, bytes.Contains(data, []byte("fake-shadow-hash")) || containsGz(t, deb))
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "outside") {
				t.Errorf("err = %v, want it to name %s and say the link leads outside", err, tc.want)
			}
			t.Logf("refused: %v", err)
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("out has %d entries after a refusal", len(entries))
			}
		})
	}
}

// containsGz reports whether the fake secret is in any data member.
func containsGz(t *testing.T, deb string) bool {
	d, err := debfile.ReadFile(deb, debfile.Options{Data: true, Bodies: true})
	if err != nil {
		return false
	}
	for _, e := range d.Data {
		if strings.Contains(string(e.Body), "fake-shadow-hash") {
			return true
		}
	}
	return false
}

// Links that stay in the tree are followed; a staged link that points
// out of the tree is packaged as a link, and every packaged file gets the
// source date whatever its mtime on disk (issue 11 item 1: sources keep
// upstream mtimes now, packages do not).
func TestLinksInsideTreeAndStagedLinksOut(t *testing.T) {
	in := fixture(t)
	etc := fakeEtc(t)
	if err := os.WriteFile(filepath.Join(in.SrcDir, "LICENSE.txt"), []byte("Permission is granted.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, "LICENSE.txt", filepath.Join(in.SrcDir, "COPYING"))
	symlink(t, "..", filepath.Join(in.SrcDir, "sub", "up"))
	in.Component.License, in.Component.LicenseFile = "MIT", "COPYING"
	in.Component.Package.Contents = append(in.Component.Package.Contents,
		spec.Content{Src: "sub/up/x.service", Dst: "/usr/share/doc/hello-up/x.service.example"})
	symlink(t, filepath.Join(etc, "shadow"), filepath.Join(in.StageDir, "usr/share/hello/shadow"))
	future := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(in.StageDir, "opt/cni/bin/bridge"), future, future); err != nil {
		t.Fatal(err)
	}
	seen := buildEntries(t, in)
	for _, e := range seen {
		if strings.Contains(string(e.Body), "fake-shadow-hash") {
			t.Errorf("%s carries the host secret", e.Name)
		}
		if e.ModTime != in.MTime.Unix() {
			t.Errorf("%s: mtime %d, want the source date %d", e.Name, e.ModTime, in.MTime.Unix())
		}
	}
	if l := seen["./usr/share/hello/shadow"]; l.Type != '2' || l.Linkname != filepath.Join(etc, "shadow") {
		t.Errorf("staged link out of the tree: %+v, want a symlink entry", l)
	}
	if e := seen["./usr/share/doc/hello-up/x.service.example"]; string(e.Body) != "ExecStart=/usr/local/bin/x\n" {
		t.Errorf("contents src through an in-tree link: %q", e.Body)
	}
	if e := seen["./usr/share/doc/hello-up/copyright"]; !strings.Contains(string(e.Body), "Permission is granted.") {
		t.Errorf("license_file through an in-tree link: %q", e.Body)
	}
}
