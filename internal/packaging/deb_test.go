package packaging

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

func fixture(t *testing.T) Input {
	t.Helper()
	stage, src, work := t.TempDir(), t.TempDir(), t.TempDir()
	testutil.Must(t, os.MkdirAll(filepath.Join(stage, "opt/cni/bin"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(stage, "opt/cni/bin/bridge"), []byte("#!/bin/sh\n"), 0o700))
	testutil.Must(t, os.WriteFile(filepath.Join(src, "x.service"), []byte("ExecStart=/usr/local/bin/x\n"), 0o600))
	script := filepath.Join(work, "postinst")
	testutil.Must(t, os.WriteFile(script, []byte("#!/bin/sh\nset -e\nexit 0\n"), 0o755))
	c := &spec.Component{
		Name: "hello", Version: "1.2.3", Revision: "1", Summary: "say hello", Description: "Says hello.\n.\nTwice.",
		License: "Apache-2.0", Copyright: "The hello authors", Maintainer: "A B <a@example.org>",
		Homepage: "https://example.org", Changes: "Build it.", File: "hello.yaml",
		Package: &spec.Package{Name: "hello-up", Section: "admin", Priority: "optional", Architecture: "any",
			Depends: []string{"libc6 (>= 2.36)"}, Provides: []string{"hello (= 1.2.3)"}, Conflicts: []string{"hello"},
			Replaces: []string{"hello"}, Breaks: []string{"old-hello"}, Compression: "gzip",
			Contents: []spec.Content{
				{Src: "x.service", Dst: "/usr/lib/systemd/system/x.service", Replace: []spec.Replacement{{From: "/usr/local/bin/", To: "/usr/bin/"}}},
				{Src: "x.service", Dst: "/etc/hello.conf", Conffile: true},
			},
			LintianOverrides: []spec.LintianOverride{{Tag: "dir-or-file-in-opt", Reason: "CNI path"}},
		},
	}
	return Input{Component: c, StageDir: stage, SrcDir: src, WorkDir: work, Scripts: map[string]string{"postinst": script},
		Arch: "amd64", MTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestBuildGolden(t *testing.T) {
	in := fixture(t)
	out := t.TempDir()
	path, err := Build(in, out)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "hello-up_1.2.3-1_amd64.deb" {
		t.Errorf("file name %s", filepath.Base(path))
	}
	d, err := debfile.ReadFile(path, debfile.Options{Data: true, Bodies: true})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/hello.control.golden", d.Control)
	testutil.Golden(t, "testdata/hello.md5sums.golden", d.ControlFiles["md5sums"])
	testutil.Golden(t, "testdata/hello.conffiles.golden", d.ControlFiles["conffiles"])
	var list strings.Builder
	for _, e := range d.Data {
		fmt.Fprintf(&list, "%s type=%c mode=%04o owner=%s:%s\n", e.Name, e.Type, e.Mode, e.Uname, e.Gname)
		if e.ModTime != in.MTime.Unix() {
			t.Errorf("%s: mtime %d, want %d", e.Name, e.ModTime, in.MTime.Unix())
		}
		if e.Name == "./usr/lib/systemd/system/x.service" && string(e.Body) != "ExecStart=/usr/bin/x\n" {
			t.Errorf("replace not applied: %q", e.Body)
		}
		if strings.HasSuffix(e.Name, "/copyright") && !strings.Contains(string(e.Body), "Copyright: 2026 The hello authors") {
			t.Errorf("copyright: %s", e.Body)
		}
	}
	testutil.Golden(t, "testdata/hello.data.golden", []byte(list.String()))
	if strings.Contains(list.String(), "./opt/ type") {
		t.Error("the package owns /opt")
	}
	// Same inputs, same bytes.
	again, err := Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("two builds of the same inputs differ")
	}
}

func TestCopyrightNeedsLicenseText(t *testing.T) {
	c := &spec.Component{Name: "x", License: "MIT", Copyright: "2020 X", File: "x.yaml", Source: &spec.Source{}}
	if _, err := Copyright(c, t.TempDir(), 2026); err == nil || !strings.Contains(err.Error(), "license_file") {
		t.Errorf("MIT without license_file: %v", err)
	}
	dir := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "LICENSE"), []byte("Permission is granted.\n\nNo warranty.\n"), 0o644))
	c.LicenseFile = "LICENSE"
	got, err := Copyright(c, dir, 2026)
	if err != nil || !strings.Contains(got, "License: MIT\n Permission is granted.\n .\n No warranty.\n") {
		t.Errorf("copyright = %q, %v", got, err)
	}
}

// Issue 9 item 18: Installed-Size follows dpkg-gencontrol's rule over what
// the package ships (each regular file and symlink rounded up to whole
// KiB, each other object 1 KiB, the root included), not nfpm's total
// rounded down (0 for a package of small files).
func TestInstalledSizeAsDpkgGencontrol(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb")
	in := fixture(t)
	// A file just over 1 KiB and one of several KiB, besides the small ones.
	testutil.Must(t, os.MkdirAll(filepath.Join(in.StageDir, "usr/bin"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(in.StageDir, "usr/bin/big"), bytes.Repeat([]byte("x"), 5000), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(in.StageDir, "usr/bin/over"), bytes.Repeat([]byte("y"), 1025), 0o755))
	testutil.Must(t, os.Symlink("big", filepath.Join(in.StageDir, "usr/bin/link")))
	deb, err := Build(in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// dpkg-gencontrol's rule over what the package ships, as dpkg-deb
	// lists it, plus the root directory.
	list, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := int64(1)
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		f := strings.Fields(line)
		size, _ := strconv.ParseInt(f[2], 10, 64)
		switch f[0][0] {
		case '-':
			want += (size + 1023) / 1024
		case 'l':
			want += (int64(len(f[len(f)-1])) + 1023) / 1024
		default:
			want++
		}
	}
	got, err := exec.Command("dpkg-deb", "--field", deb, "Installed-Size").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != strconv.FormatInt(want, 10) {
		t.Errorf("Installed-Size %s, dpkg-gencontrol's rule gives %d", strings.TrimSpace(string(got)), want)
	}
	if want < 9 {
		t.Errorf("implausibly small: %d", want)
	}
	// The package still reads and its md5sums match (the control rewrite
	// kept every other byte).
	if out, err := exec.Command("dpkg-deb", "--info", deb).CombinedOutput(); err != nil {
		t.Errorf("dpkg-deb --info: %v\n%s", err, out)
	}
}

// lintian emits initial-upload-closes-no-bugs only for a single changelog
// entry whose version ends in -1: a release build (1.0-1+deb12) or a
// second revision gets no override, which would be an unused one.
func TestInitialUploadOverrideOnlyWhereLintianLooks(t *testing.T) {
	for _, tc := range []struct {
		revision string
		history  bool
		want     bool
	}{
		{"1", false, true},
		{"1+deb12", false, false},
		{"2", false, false},
		{"1", true, false},
	} {
		c := &spec.Component{Name: "x", Version: "1.0", Revision: tc.revision, Package: &spec.Package{Name: "x"}}
		got := strings.Contains(LintianOverrides(c, nil, nil, tc.history), "initial-upload-closes-no-bugs")
		if got != tc.want {
			t.Errorf("revision %s, history %v: override %v, want %v", tc.revision, tc.history, got, tc.want)
		}
	}
}

// Each executable lintian would take for a library without prerequisites
// gets its own override, pointed at the file; a spec that overrides the
// tag itself keeps its own, and no unused second one is added.
func TestSelfContainedPIEsAreOverriddenOneByOne(t *testing.T) {
	c := &spec.Component{Name: "x", Version: "1.0", Revision: "2", Package: &spec.Package{Name: "x"}}
	got := LintianOverrides(c, nil, []string{"usr/bin/a", "usr/bin/b"}, false)
	for _, want := range []string{"x: shared-library-lacks-prerequisites [usr/bin/a]\n", "x: shared-library-lacks-prerequisites [usr/bin/b]\n", "# A position-independent executable"} {
		if !strings.Contains(got, want) {
			t.Errorf("overrides lack %q:\n%s", want, got)
		}
	}
	c.Package.LintianOverrides = []spec.LintianOverride{{Tag: "shared-library-lacks-prerequisites", Reason: "the spec's own"}}
	got = LintianOverrides(c, nil, []string{"usr/bin/a"}, false)
	if n := strings.Count(got, "shared-library-lacks-prerequisites"); n != 1 {
		t.Errorf("%d overrides of the tag, want the spec's one:\n%s", n, got)
	}
}

// A package with nothing to override ships no lintian overrides file, as
// dh_lintian leaves it out; one with overrides ships them.
func TestLintianOverridesFileOnlyWhenThereAreOverrides(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides []spec.LintianOverride
		history   bool
		want      bool
	}{
		{"none, later upload", nil, true, false},
		{"none, first upload (initial-upload override)", nil, false, true},
		{"the spec's own", []spec.LintianOverride{{Tag: "dir-or-file-in-opt", Reason: "CNI path"}}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture(t)
			in.Component.Package.LintianOverrides = tc.overrides
			// Files below /usr only: /opt would bring the override for
			// the base directories left out of data.tar.
			os.RemoveAll(filepath.Join(in.StageDir, "opt"))
			testutil.Must(t, os.MkdirAll(filepath.Join(in.StageDir, "usr/bin"), 0o755))
			testutil.Must(t, os.WriteFile(filepath.Join(in.StageDir, "usr/bin/hello"), []byte("#!/bin/sh\n"), 0o755))
			if tc.history {
				in.History = []byte("hello (1.2.2-1) unstable; urgency=medium\n\n  * Earlier.\n\n -- A B <a@example.org>  Fri, 02 Jan 2026 03:04:05 +0000\n")
			}
			path, err := Build(in, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			d, err := debfile.ReadFile(path, debfile.Options{Data: true})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range d.Data {
				found = found || e.Name == "./usr/share/lintian/overrides/hello-up"
			}
			if found != tc.want {
				t.Errorf("overrides file shipped: %v, want %v", found, tc.want)
			}
		})
	}
}

// Each copyright_files entry is a Files stanza after the one for "*",
// with its license text from the source tree or a reference to Debian's
// copy; a missing license file fails naming the entry.
func TestCopyrightHasAStanzaPerCopyrightFilesEntry(t *testing.T) {
	in := fixture(t)
	c := in.Component
	testutil.Must(t, os.MkdirAll(filepath.Join(in.SrcDir, "vendor", "dec"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(in.SrcDir, "vendor", "dec", "LICENSE"), []byte("ICU License\n\nPermission is hereby granted.\n"), 0o644))
	c.CopyrightFiles = []spec.CopyrightFiles{
		{Files: []string{"vendor/dec/*"}, Copyright: "2005 IBM Corporation", License: "ICU", LicenseFile: "vendor/dec/LICENSE"},
		{Files: []string{"lib/*", "src/dtoa.c"}, Copyright: "2019 K.Kosako", License: "GPL-2.0-or-later"},
	}
	text, err := Copyright(c, in.SrcDir, 2026)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nFiles: *\nCopyright: 2026 The hello authors\nLicense: Apache-2.0\n",
		"\nFiles: vendor/dec/*\nCopyright: 2005 IBM Corporation\nLicense: ICU\n ICU License\n .\n Permission is hereby granted.\n",
		"\nFiles: lib/* src/dtoa.c\nCopyright: 2019 K.Kosako\nLicense: GPL-2.0-or-later\n On Debian systems, the full text of the license can be found in\n /usr/share/common-licenses/GPL-2.\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("copyright lacks %q:\n%s", want, text)
		}
	}
	c.CopyrightFiles[0].LicenseFile = "vendor/dec/MISSING"
	if _, err := Copyright(c, in.SrcDir, 2026); err == nil || !strings.Contains(err.Error(), "copyright_files[0]") {
		t.Errorf("a missing license file: %v, want an error naming copyright_files[0]", err)
	}
}
