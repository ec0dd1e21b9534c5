package scaffold

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

const commonDir = "/usr/share/common-licenses"

// Debian's texts, reflowed and with a copyright line added as upstream
// LICENSE files have them, are recognised; other texts are not.
func TestGuessLicenseMatchesDebianTexts(t *testing.T) {
	if _, err := os.Stat(filepath.Join(commonDir, "Apache-2.0")); err != nil {
		t.Skip("no /usr/share/common-licenses (base-files) here")
	}
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(commonDir, n))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct{ file, text, want string }{
		{"LICENSE", "Copyright 2024 The Authors\n\n" + strings.Join(strings.Fields(read("Apache-2.0")), " "), "Apache-2.0"},
		{"COPYING", read("GPL-2"), "GPL-2.0-only"},
		{"COPYING.txt", read("LGPL-2.1"), "LGPL-2.1-only"},
		{"LICENSE.md", read("MPL-2.0"), "MPL-2.0"},
		{"LICENSE", "Permission is hereby granted, free of charge, to any person obtaining a copy of this software (MIT)", ""},
		{"LICENSE", "See https://www.apache.org/licenses/LICENSE-2.0 for the Apache License, Version 2.0.", ""},
	}
	for _, c := range cases {
		dir := t.TempDir()
		testutil.Must(t, os.WriteFile(filepath.Join(dir, c.file), []byte(c.text), 0o644))
		if got, file := GuessLicense(dir, commonDir, spec.CommonLicenses); got != c.want || file != c.file {
			t.Errorf("%s (%.40q…): got %q from %q, want %q", c.file, c.text, got, file, c.want)
		}
	}
}

func TestInspectFindsKindAndMains(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		testutil.Must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		testutil.Must(t, os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644))
	}
	write("go.mod", "module x\n")
	write("cmd/a/main.go", "package main\n")
	write("cmd/lib/lib.go", "package lib\n")
	write("cmd/b/b_test.go", "package main\n")
	g, err := Inspect(dir, commonDir, spec.CommonLicenses)
	if err != nil || g.Kind != "go" || len(g.Binaries) != 1 || g.Binaries[0] != (Binary{"./cmd/a", "a"}) {
		t.Errorf("go tree: %+v %v", g, err)
	}
	c := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(c, "configure.ac"), nil, 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(c, "Makefile"), nil, 0o644))
	if g, _ := Inspect(c, commonDir, spec.CommonLicenses); g.Kind != "autotools" {
		t.Errorf("configure.ac + Makefile: kind %q, want autotools", g.Kind)
	}
}

// new pre-fills what autoreconf needs when there is no configure script,
// ships the manual pages upstream has and makes the others with help2man.
func TestSpecFillsBuildDependsAndManPages(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("configure.ac", "AC_INIT([t],[1])\nAM_INIT_AUTOMAKE\nLT_INIT\nPKG_CHECK_MODULES([X],[x])\n")
	g, err := Inspect(dir, commonDir, spec.CommonLicenses)
	if err != nil || !slices.Equal(g.BuildDepends, []string{"autoconf", "automake", "libtool", "pkgconf"}) {
		t.Errorf("configure.ac alone: build_depends %v, %v", g.BuildDepends, err)
	}
	write("configure", "#!/bin/sh\n")
	if g, _ := Inspect(dir, commonDir, spec.CommonLicenses); g.BuildDepends != nil {
		t.Errorf("with configure: build_depends %v, want none", g.BuildDepends)
	}

	gd := t.TempDir()
	dir = gd
	write("go.mod", "module x\n")
	write("cmd/a/main.go", "package main\n")
	write("cmd/b/main.go", "package main\n")
	write("doc/man/a.1", ".TH A 1\n")
	write("vendor/z/b.1", ".TH B 1\n")
	write("README.md", "")
	g, err = Inspect(gd, commonDir, spec.CommonLicenses)
	if err != nil {
		t.Fatal(err)
	}
	text := Spec("xx", "1.0", "", Source{Kind: "go_module", GoModule: "example.com/x@v1.0.0", Sum: "h1:" + strings.Repeat("A", 43) + "="}, g)
	for _, want := range []string{`- {src: "doc/man/a.1", dst: "/usr/share/man/man1/a.1"}`, `--output "$DESTDIR/usr/share/man/man1/b.1" b`, "build_depends: [help2man]"} {
		if !strings.Contains(text, want) {
			t.Errorf("spec lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "man1/a.1\" a") || strings.Contains(text, "vendor") {
		t.Errorf("a page upstream ships is made again, or a vendored one is shipped:\n%s", text)
	}
	if _, err := spec.Parse("xx.yaml", []byte(strings.Replace(text, "license: TODO", "license: Apache-2.0", 1)), []string{"go"}); err != nil {
		t.Errorf("the spec does not validate: %v\n%s", err, text)
	}
}

// A license Debian ships no text for (MIT) is recognised by the license
// classifier: new writes its SPDX id and the file to ship as its text,
// and the spec validates as written instead of saying license: TODO.
func TestNewRecognisesAnMITLicense(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"LICENSE": testutil.MITLicense, "go.mod": "module example.com/gojq\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := Inspect(dir, "/usr/share/common-licenses", spec.CommonLicenses)
	if err != nil {
		t.Fatal(err)
	}
	if g.License != "MIT" || !g.Classified || g.LicenseFile != "LICENSE" {
		t.Fatalf("guess %+v, want MIT from LICENSE", g)
	}
	text := Spec("gojq", "0.12.18", "", Source{Kind: "go_module", GoModule: "example.com/gojq@v0.12.18", Sum: "h1:" + strings.Repeat("A", 43) + "="}, g)
	if !strings.Contains(text, "license: MIT\nlicense_file: \"LICENSE\"\n") {
		t.Errorf("spec:\n%s", text)
	}
	// lintian-clean as written: a synopsis that does not start with the
	// package name, a manual page for each program.
	if strings.Contains(text, "summary: \"gojq") || !strings.Contains(text, `--output "$DESTDIR/usr/share/man/man1/gojq.1" gojq`) {
		t.Errorf("spec starts its summary with the name or makes no manual page:\n%s", text)
	}
	specs := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"A B <a@example.org>\"\n"), 0o644))
	must(os.WriteFile(filepath.Join(specs, "gojq.yaml"), []byte(text), 0o644))
	if _, err := spec.LoadDir(specs, []string{"go", "make", "autotools", "script"}); err != nil {
		t.Errorf("the spec new writes does not validate: %v\n%s", err, text)
	}
}
