package packaging

import (
	"archive/tar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
	"github.com/debforge/debforge/postinst"
)

// A staged symlink is packaged as a link with mode 0777 whatever its
// target is on the build host: a link to a host directory (/root, mode
// 0700) never becomes a directory, and one to a missing path never gets
// the mode 0000. The package never depends on the host's tree.
func TestStagedSymlinksStayLinks(t *testing.T) {
	in := fixture(t)
	links := map[string]string{
		"usr/lib/hostdoc": "/usr/share/doc",
		"usr/lib/rootdir": "/root",
		"usr/lib/missing": "/nonexistent/debforge-test",
		"usr/lib/rel":     "../share",
	}
	for name, target := range links {
		p := filepath.Join(in.StageDir, name)
		testutil.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		testutil.Must(t, os.Symlink(target, p))
	}
	entries := buildEntries(t, in)
	for name, target := range links {
		e, ok := entries["./"+name]
		switch {
		case !ok:
			t.Errorf("%s is not in the package", name)
		case e.Type != tar.TypeSymlink || e.Linkname != target || e.Mode != 0o777:
			t.Errorf("%s: type %c, link %q, mode %o; want a link to %q with mode 777", name, e.Type, e.Linkname, e.Mode, target)
		}
	}
}

// Staged file names are names, never patterns: "a*" beside "ab", "[" (as
// coreutils installs /usr/bin/[) and a name with a backslash are packaged
// as the files they are.
func TestStagedNamesAreNotGlobs(t *testing.T) {
	in := fixture(t)
	names := []string{"usr/bin/a*", "usr/bin/ab", "usr/bin/[", `usr/bin/back\slash`, "usr/bin/q?", "usr/bin/{x,y}"}
	for _, n := range names {
		p := filepath.Join(in.StageDir, n)
		testutil.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		testutil.Must(t, os.WriteFile(p, []byte("content of "+n+"\n"), 0o755))
	}
	entries := buildEntries(t, in)
	for _, n := range names {
		e, ok := entries["./"+n]
		if !ok || e.Type != tar.TypeReg || string(e.Body) != "content of "+n+"\n" {
			t.Errorf("%s: %+v (present %v)", n, e, ok)
		}
	}
	for name, e := range entries {
		if strings.HasPrefix(name, "./usr/bin/") && name != "./usr/bin/" && e.Type == tar.TypeDir {
			t.Errorf("%s became a directory", name)
		}
	}
}

// A staged name with a newline would be pooled and then left out of the
// index: the build stops and names it.
func TestStagedNameWithNewlineIsRefused(t *testing.T) {
	in := fixture(t)
	p := filepath.Join(in.StageDir, "usr/bin/evil\nname")
	testutil.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	testutil.Must(t, os.WriteFile(p, []byte("x"), 0o755))
	_, err := Build(in, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `"/usr/bin/evil\nname"`) || !strings.Contains(err.Error(), "newline") {
		t.Errorf("err = %v, want the name refused for its newline", err)
	}
}

func buildEntries(t *testing.T, in Input) map[string]debfile.Entry {
	t.Helper()
	deb, err := Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := debfile.ReadFile(deb, debfile.Options{Data: true, Bodies: true})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]debfile.Entry{}
	for _, e := range d.Data {
		m[e.Name] = e
	}
	return m
}

// Every regular file under /etc is a conffile (policy 10.7.2), whether
// the build installed it or contents added it, except those the spec
// lists in not_conffiles: lintian's file-in-etc-not-marked-as-conffile
// never fires, and an upgrade keeps the admin's edits.
func TestFilesUnderEtcAreConffiles(t *testing.T) {
	in := fixture(t)
	for _, n := range []string{"etc/foo/foo.conf", "etc/foo/generated.state", "usr/share/foo/default.conf"} {
		p := filepath.Join(in.StageDir, n)
		testutil.Must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		testutil.Must(t, os.WriteFile(p, []byte(n), 0o644))
	}
	testutil.Must(t, os.Symlink("foo.conf", filepath.Join(in.StageDir, "etc/foo/link.conf")))
	in.Component.Package.NotConffiles = []string{"/etc/foo/generated.state"}
	deb, err := Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := debfile.ReadFile(deb, debfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(d.ControlFiles["conffiles"]))
	want := []string{"/etc/foo/foo.conf", "/etc/hello.conf"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("conffiles %v, want %v", got, want)
	}
}

// A shared library is packaged 0644 (policy 8.1) and brings dpkg's ldconfig
// trigger; package.exclude leaves out what the build installed and the
// package should not ship (headers, static archives), as
// debian/not-installed does.
func TestSharedLibrariesAndExclude(t *testing.T) {
	in := fixture(t)
	lib := filepath.Join(in.StageDir, "usr/lib/x86_64-linux-gnu")
	testutil.Must(t, os.MkdirAll(lib, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(lib, "libfoo.so.1.0.4"), []byte("\x7fELF"), 0o755))
	testutil.Must(t, os.Symlink("libfoo.so.1.0.4", filepath.Join(lib, "libfoo.so.1")))
	testutil.Must(t, os.WriteFile(filepath.Join(lib, "libfoo.a"), []byte("!<arch>\n"), 0o644))
	testutil.Must(t, os.MkdirAll(filepath.Join(in.StageDir, "usr/include/foo"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(in.StageDir, "usr/include/foo/foo.h"), []byte("int foo(void);\n"), 0o644))
	in.Component.Package.Exclude = []string{"/usr/include", "/usr/lib/*/*.a"}
	deb, err := Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := debfile.ReadFile(deb, debfile.Options{Data: true})
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]debfile.Entry{}
	for _, e := range d.Data {
		entries[e.Name] = e
	}
	if e := entries["./usr/lib/x86_64-linux-gnu/libfoo.so.1.0.4"]; e.Mode != 0o644 {
		t.Errorf("libfoo.so.1.0.4 has mode %o, want 644", e.Mode)
	}
	for name := range entries {
		if strings.HasPrefix(name, "./usr/include") || strings.HasSuffix(name, ".a") {
			t.Errorf("%s was excluded but shipped", name)
		}
	}
	if got := string(d.ControlFiles["triggers"]); !strings.Contains(got, "activate-noawait ldconfig") {
		t.Errorf("triggers file %q, want activate-noawait ldconfig", got)
	}
	// A package without a library has no trigger.
	plain, err := Build(fixture(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if pd, err := debfile.ReadFile(plain, debfile.Options{}); err != nil || pd.ControlFiles["triggers"] != nil {
		t.Errorf("a package without libraries has triggers %q (%v)", pd.ControlFiles["triggers"], err)
	}
}

// A package whose scripts use a template depends on what those scripts
// call: systemd-service's tools are in init-system-helpers, system-user
// calls adduser (lintian: maintainer-script-needs-depends-on-adduser).
func TestScriptTemplatesAddWhatTheyCallToDepends(t *testing.T) {
	for _, tc := range []struct {
		template string
		vars     map[string]string
		want     string
	}{
		{"systemd-service", map[string]string{"unit": "x.service"}, postinst.ServiceHelpers},
		{"system-user", map[string]string{"user": "_x"}, "adduser"},
	} {
		in := fixture(t)
		in.Component.Package.Scripts = []spec.Script{{Template: tc.template, Vars: tc.vars}}
		info, err := Info(in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(info.Depends, tc.want) {
			t.Errorf("%s: Depends %v lacks %s", tc.template, info.Depends, tc.want)
		}
	}
}

// package.multi_arch becomes the control file's Multi-Arch field.
func TestMultiArchField(t *testing.T) {
	in := fixture(t)
	in.Component.Package.MultiArch = "foreign"
	deb, err := Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := debfile.ReadFile(deb, debfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Get("Multi-Arch"); got != "foreign" {
		t.Errorf("Multi-Arch: %q\n%s", got, d.Control)
	}
}

// A versioned shared library staged beside a program is named (Debian
// ships it in a package of its own); alone, or left out by exclude, it
// is not.
func TestLibrariesBesidePrograms(t *testing.T) {
	stage := t.TempDir()
	write := func(p string) {
		testutil.Must(t, os.MkdirAll(filepath.Dir(filepath.Join(stage, p)), 0o755))
		testutil.Must(t, os.WriteFile(filepath.Join(stage, p), []byte("x"), 0o755))
	}
	write("usr/lib/x86_64-linux-gnu/libjq.so.1.0.4")
	testutil.Must(t, os.Symlink("libjq.so.1.0.4", filepath.Join(stage, "usr/lib/x86_64-linux-gnu/libjq.so.1")))
	if libs, err := LibrariesBesidePrograms(stage, nil); err != nil || len(libs) != 0 {
		t.Errorf("a library package: %v, %v; want nothing", libs, err)
	}
	write("usr/bin/jq")
	libs, err := LibrariesBesidePrograms(stage, nil)
	if err != nil || !slices.Equal(libs, []string{"/usr/lib/x86_64-linux-gnu/libjq.so.1.0.4"}) {
		t.Errorf("a program with its library: %v, %v", libs, err)
	}
	if libs, err := LibrariesBesidePrograms(stage, []string{"/usr/lib/*/libjq.so*"}); err != nil || len(libs) != 0 {
		t.Errorf("the library excluded: %v, %v; want nothing", libs, err)
	}
}
