package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

const baseSpec = "name: hello\nversion: \"1.0\"\nsummary: s\nlicense: MIT\n"

// Issue 9 item 4: a newline (or any control character) in a single-line
// field would add fields of the spec author's choosing to the control
// file, Packages, Release or the .sources file.
func TestNewlineInjectionRefusedAtValidate(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"homepage (the issue's reproduction)", baseSpec + "description: d\nhomepage: \"https://example.org\\nEssential: yes\\nPre-Depends: evil\"\n",
			"x.yaml:6:11: homepage: contains the control character U+000A"},
		{"maintainer", baseSpec + "description: d\nmaintainer: \"Evil\\nEssential: yes <a@example.org>\"\n",
			"x.yaml:6:13: maintainer: contains the control character U+000A"},
		{"carriage return in a relation", baseSpec + "description: d\npackage:\n  depends: [\"libc6\\rEssential: yes\"]\n",
			"x.yaml:7:13: package.depends[0]: contains the control character U+000D"},
		{"block scalar summary", baseSpec[:strings.Index(baseSpec, "summary")] + "summary: |\n  one\n  Essential: yes\nlicense: MIT\ndescription: d\n",
			"x.yaml:3:10: summary: contains the control character U+000A"},
		{"escape in a lintian tag reason is not a newline but still control", baseSpec + "description: d\npackage:\n  lintian_overrides: [{tag: a-b, reason: \"x\\x1b[2J\"}]\n",
			"package.lintian_overrides[0].reason: contains the control character U+001B"},
		{"env key", baseSpec + "description: d\nsource: {dir: .}\nbuild:\n  kind: make\n  env: {\"A\\nB\": x}\n",
			"x.yaml:9:9: build.env: key \"A\\nB\" contains the control character U+000A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Parse("x.yaml", []byte(tc.yaml), kinds)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want %q in:\n%v", tc.want, err)
			}
		})
	}
	// Multi-line text stays multi-line: descriptions, steps and reasons.
	ok := baseSpec + "license_file: LICENSE\ndescription: |\n  line one\n  Essential: yes stays in the description\nsource: {dir: .}\nbuild:\n  kind: script\n  steps:\n    - |\n      echo a\n      echo b\npackage:\n  lintian_overrides: [{tag: a-b, reason: \"two\\nlines\"}]\n"
	if _, err := spec.Parse("x.yaml", []byte(ok), kinds); err != nil {
		t.Errorf("multi-line fields refused: %v", err)
	}
}

// Item 4 for debforge.yaml: label injected a fake SHA256 block into
// Release, url a "Trusted: yes" line into the .sources file.
func TestNewlineInjectionRefusedInRepoSettings(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"label: \"x\\nSHA256:\\n 0000 1 main/binary-amd64/Packages\"", "debforge.yaml:2:8: label: contains the control character U+000A"},
		{"url: \"http://x\\nTrusted: yes\"", "debforge.yaml:2:6: url: contains the control character U+000A"},
		{"description: \"a\\nb\"", "debforge.yaml:2:14: description: contains the control character U+000A"},
		{"origin: \"a\\tb\"", "debforge.yaml:2:9: origin: contains the control character U+0009"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "debforge.yaml")
			if err := os.WriteFile(p, []byte("maintainer: \"A B <a@example.org>\"\n"+tc.line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := spec.LoadRepo(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want %q, got %v", tc.want, err)
			}
		})
	}
}

// Issue 9 item 5: key_name "../../victim" overwrote a file outside out/;
// settings that name files and directories follow Debian's grammar.
func TestSettingsPathsFollowDebianGrammar(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"key_name: ../../victim", "debforge.yaml:2:11: key_name: invalid key_name \"../../victim\""},
		{"key_name: Keys", "key_name: invalid key_name"},
		{"codename: ..", "debforge.yaml:2:11: codename: invalid codename \"..\""},
		{"codename: a/../../b", "codename: invalid codename"},
		{"suite: .hidden", "suite: invalid suite"},
		{"component: ../main", "component: invalid component"},
		{"url: \"ftp://x y\"", "url: expected an http(s) or file URL"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "debforge.yaml")
			if err := os.WriteFile(p, []byte("maintainer: \"A B <a@example.org>\"\n"+tc.line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := spec.LoadRepo(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want %q, got %v", tc.want, err)
			}
		})
	}
	for _, good := range []string{"codename: bookworm-backports", "suite: stable-updates", "component: non-free-firmware", "key_name: example-archive-keyring", "codename: trixie+1"} {
		p := filepath.Join(t.TempDir(), "debforge.yaml")
		testutil.Must(t, os.WriteFile(p, []byte("maintainer: \"A B <a@example.org>\"\n"+good+"\n"), 0o644))
		if _, err := spec.LoadRepo(p); err != nil {
			t.Errorf("%s refused: %v", good, err)
		}
	}
	for arch, ok := range map[string]bool{"amd64": true, "arm64": true, "hurd-i386": true, "x/../../../tmp/y": false, "..": false, "AMD64": false, "": false} {
		if debian.ArchRe.MatchString(arch) != ok {
			t.Errorf("arch %q: valid = %v, want %v", arch, !ok, ok)
		}
	}
}

// Issue 9 item 16: contents modes "6777" and "0666" were accepted without
// a word; setuid, setgid and world-writable need allow_unsafe_mode.
func TestUnsafeContentModesNeedAReason(t *testing.T) {
	pkg := baseSpec + "description: d\npackage:\n  contents:\n"
	for _, tc := range []struct{ entry, want string }{
		{`    - {src: a, dst: /usr/bin/a, mode: "6777"}`, `x.yaml:8:39: package.contents[0].mode: mode "6777" is setuid, setgid or world-writable`},
		{`    - {src: a, dst: /etc/a, mode: "0666"}`, `package.contents[0].mode: mode "0666" is setuid, setgid or world-writable`},
		{`    - {dst: /var/lib/a, type: dir, mode: "1777"}`, `mode "1777" is setuid, setgid or world-writable`},
		{`    - {src: a, dst: /usr/bin/a, mode: "2755"}`, `mode "2755" is setuid`},
		{`    - {src: a, dst: /usr/bin/a, mode: "0755", allow_unsafe_mode: "why"}`, `allow_unsafe_mode: mode "0755" is neither setuid`},
	} {
		_, err := spec.Parse("x.yaml", []byte(pkg+tc.entry+"\n"), kinds)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want %q, got %v", tc.entry, tc.want, err)
		}
	}
	ok := pkg + `    - {src: a, dst: /usr/lib/x/helper, mode: "4755", allow_unsafe_mode: "the helper needs root to configure networking"}` + "\n"
	if _, err := spec.Parse("x.yaml", []byte(ok), kinds); err != nil {
		t.Errorf("a setuid mode with a reason refused: %v", err)
	}
}

// Issue 9 item 16: a spec could take the keyring package's name and so
// replace the repository's keys on every host.
func TestSpecMayNotTakeTheKeyringName(t *testing.T) {
	for _, tc := range []struct{ repo, spec, want string }{
		{"", "name: debforge-archive-keyring\n", "x.yaml:1:7: name: package \"debforge-archive-keyring\" is the repository's keyring package"},
		{"key_name: ops-keyring\n", "name: evil\npackage: {name: ops-keyring}\n", "x.yaml:2:17: package.name: package \"ops-keyring\" is the repository's keyring package"},
	} {
		dir := t.TempDir()
		testutil.Must(t, os.WriteFile(filepath.Join(dir, "debforge.yaml"), []byte("maintainer: \"A B <a@example.org>\"\n"+tc.repo), 0o644))
		testutil.Must(t, os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(tc.spec+"version: \"1.0\"\nsummary: s\ndescription: d\nlicense: MIT\n"), 0o644))
		_, err := spec.LoadDir(dir, kinds)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
}

// A spec file or patch that is a link out of the specs directory (to the
// signing key, to /etc/shadow) is refused before it is read, and no error
// ever quotes more than a short prefix of a value: the secret is named,
// never printed.
func TestSpecLinkedToASecretIsRefusedUnread(t *testing.T) {
	const secret = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBGZsecretsecretsecretsecretsecretsecretsecretsecretsecretsecretTAIL\n-----END PGP PRIVATE KEY BLOCK-----\n"
	outside := t.TempDir()
	key := filepath.Join(outside, "signing-key.asc")
	if err := os.WriteFile(key, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, spec.RepoFile), []byte("maintainer: \"A B <a@example.org>\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(key, filepath.Join(dir, "key.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err := spec.LoadDir(dir, []string{"make"})
	if err == nil || !strings.Contains(err.Error(), "key.yaml") || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "BEGIN") {
		t.Errorf("a spec linked to a key: %v", err)
	}

	// A link that stays inside the directory is an ordinary spec.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(filepath.Join(dir, "key.yaml")))
	must(os.MkdirAll(filepath.Join(dir, "real"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "real", "hello.yaml"), []byte(strings.Replace(baseSpec, "MIT", "Apache-2.0", 1)+"description: d\ncopyright: x\nsource: {dir: .}\nbuild: {kind: make}\n"), 0o644))
	must(os.Symlink("real/hello.yaml", filepath.Join(dir, "hello.yaml")))
	if _, err := spec.LoadDir(dir, []string{"make"}); err != nil {
		t.Errorf("a link inside the specs directory: %v", err)
	}

	// A patch linked out is refused by validate, unread.
	must(os.Symlink(key, filepath.Join(dir, "real", "fix.patch")))
	must(os.WriteFile(filepath.Join(dir, "real", "hello.yaml"), []byte(strings.Replace(baseSpec, "MIT", "Apache-2.0", 1)+"description: d\ncopyright: x\nsource: {dir: ., patches: [fix.patch]}\nbuild: {kind: make}\n"), 0o644))
	_, err = spec.LoadDir(dir, []string{"make"})
	if err == nil || !strings.Contains(err.Error(), "source.patches[0]") || strings.Contains(err.Error(), "secret") {
		t.Errorf("a patch linked to a key: %v", err)
	}

	// A regular spec whose whole text is a secret is quoted only in part.
	must(os.Remove(filepath.Join(dir, "hello.yaml")))
	must(os.WriteFile(filepath.Join(dir, "pasted.yaml"), []byte(secret), 0o644))
	_, err = spec.LoadDir(dir, []string{"make"})
	if err == nil || strings.Contains(err.Error(), "TAIL") || !strings.Contains(err.Error(), "cut)") {
		t.Errorf("a pasted secret is quoted whole: %v", err)
	}
}

// Every relation that validates is one apt and dpkg parse in a binary
// package: architecture lists, build profiles, ${…} variables and
// malformed versions are refused at validate, not found by every host's
// apt-get update once published.
func TestRelationsFollowDebianGrammar(t *testing.T) {
	accepted := []string{
		"libc6", "libc6 (>= 2.36)", "aa | bb (<< 2)", "foo:any", "foo:any (>= 1.0)", "bar (= 1:2.0-1+deb12u1~rc1)",
		"baz (>> 0)", "qux (<= 1.0~beta)", "xy (>=1.0)", "up (= 1:2.0:3-1)", "n.a+b-c (= 2.0)",
	}
	refused := map[string]string{
		"bar [amd64]":                "architecture list",
		"foo (>> ${shlibs:Depends})": "${…}",
		"${misc:Depends}":            "${…}",
		"baz (<< 1:)":                "upstream version is empty",
		"foo (>= 1.0-)":              "Debian revision is empty",
		"foo (>= a1.0)":              "start with a digit",
		"foo (>= x:1.0)":             "epoch",
		"foo (>= 1.0-1_2)":           "revision",
		"foo (>= 1.0 junk)":          "want name",
		"foo <!nocheck>":             "build profile",
		"foo:amd64":                  ":any",
		"foo:native":                 ":any",
		"foo (>= 1.0) [linux-any]":   "architecture list",
		"foo (>= 1.0:2)":             "epoch",
		"foo (>= 1.0@2)":             "letters, digits",
	}
	write := func(field, rel string) error {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.yaml")
		text := strings.Replace(baseSpec, "MIT", "Apache-2.0", 1) + "description: d\ncopyright: x\nsource: {dir: .}\nbuild: {kind: make}\npackage:\n  " + field + ": ['" + rel + "']\n"
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := spec.LoadFile(p, []string{"make"})
		return err
	}
	for _, rel := range accepted {
		if err := write("depends", rel); err != nil {
			t.Errorf("%q refused: %v", rel, err)
		}
	}
	if err := write("provides", "hello:any (= 1.0)"); err == nil || !strings.Contains(err.Error(), "without an architecture qualifier") {
		t.Errorf("provides with :any: %v", err)
	}
	for rel, want := range refused {
		err := write("depends", rel)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "package.depends[0]") {
			t.Errorf("%q: %v, want an error saying %q", rel, err, want)
		}
	}
}

// validate renders templates with data as long as a build's, so a
// template that would pass the 64 KiB output budget at build time (200
// copies of the build flags) is refused by validate, not 20 minutes into
// a build.
func TestValidateEnforcesTheTemplateBudgetTheBuildDoes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.yaml")
	text := strings.Replace(baseSpec, "MIT", "Apache-2.0", 1) + "description: d\ncopyright: x\nsource: {dir: .}\nbuild:\n  kind: make\n  vars: {CFLAGS: \"" + strings.Repeat("{{.CFLAGS}} ", 200) + "\"}\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := spec.LoadFile(p, []string{"make"})
	if err == nil || !strings.Contains(err.Error(), "build.vars.CFLAGS") || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("200 copies of the flags: %v", err)
	}
}
