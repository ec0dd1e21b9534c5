package source

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Issue 11 item 1: extraction kept no mtimes, so an autotools release
// tarball's configure looked older than configure.ac and make re-ran
// aclocal. The archive's mtimes stay, for files and directories.
func TestExtractKeepsMtimes(t *testing.T) {
	old := time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC)
	newer := old.Add(time.Hour)
	dst := t.TempDir()
	err := ExtractTar(writeTarGz(t, []entry{
		{name: "pkg-1.0/", typ: tar.TypeDir, mtime: old},
		// Listed generated-first, so extraction order alone would make
		// the input look newer than what was generated from it.
		{name: "pkg-1.0/configure", body: "#!/bin/sh\n", mtime: newer},
		{name: "pkg-1.0/m4/", typ: tar.TypeDir, mtime: old},
		{name: "pkg-1.0/m4/x.m4", body: "dnl\n", mtime: old},
		{name: "pkg-1.0/configure.ac", body: "AC_INIT\n", mtime: old},
	}), dst, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"configure": newer, "configure.ac": old, "m4": old, "m4/x.m4": old}
	for name, mt := range want {
		st, err := os.Stat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(mt) {
			t.Errorf("%s: mtime %s, want the archive's %s", name, st.ModTime().UTC(), mt)
		}
	}
}

// Local and git sources keep mtimes too: a checkout of an autotools
// project copied in walk order would make aclocal.m4 older than
// configure.ac.
func TestCopyTreeKeepsMtimes(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	old := time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
	newer := old.Add(time.Minute)
	files := map[string]time.Time{"aclocal.m4": newer, "configure.ac": old, "sub/Makefile.in": newer}
	for name, mt := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(filepath.Join(src, "sub"), old, old); err != nil {
		t.Fatal(err)
	}
	files["sub"] = old
	if err := CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for name, mt := range files {
		st, err := os.Stat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(mt) {
			t.Errorf("%s: mtime %s, want %s", name, st.ModTime().UTC(), mt)
		}
	}
}
