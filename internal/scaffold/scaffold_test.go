package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/spec"
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
		os.WriteFile(filepath.Join(dir, c.file), []byte(c.text), 0o644)
		if got, file := GuessLicense(dir, commonDir, spec.CommonLicenses); got != c.want || file != c.file {
			t.Errorf("%s (%.40q…): got %q from %q, want %q", c.file, c.text, got, file, c.want)
		}
	}
}

func TestInspectFindsKindAndMains(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644)
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
	os.WriteFile(filepath.Join(c, "configure.ac"), nil, 0o644)
	os.WriteFile(filepath.Join(c, "Makefile"), nil, 0o644)
	if g, _ := Inspect(c, commonDir, spec.CommonLicenses); g.Kind != "autotools" {
		t.Errorf("configure.ac + Makefile: kind %q, want autotools", g.Kind)
	}
}
