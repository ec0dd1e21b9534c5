package debian

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The ELF questions, asked of this machine's /bin/true (a stripped,
// dynamically linked C program), of a C program gcc just linked (with its
// symbol table), of this test binary (Go) and of a text file.
func TestELFQuestions(t *testing.T) {
	text := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(t.TempDir(), "prog")
	gcc := exec.Command("gcc", "-x", "c", "-o", prog, "-")
	gcc.Stdin = strings.NewReader("int main(void) { return 0; }\n")
	if out, err := gcc.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	for _, c := range []struct {
		path                        string
		elf, shared, symbols, goBin bool
	}{
		{"/bin/true", true, true, false, false},
		{prog, true, true, true, false},
		{self, true, LinksShared(self), HasSymbols(self), true}, // as go test linked it
		{text, false, false, false, false},
	} {
		if got, err := IsELF(c.path); err != nil || got != c.elf {
			t.Errorf("IsELF(%s) = %v, %v; want %v", c.path, got, err, c.elf)
		}
		if got := LinksShared(c.path); got != c.shared {
			t.Errorf("LinksShared(%s) = %v, want %v", c.path, got, c.shared)
		}
		if got := HasSymbols(c.path); got != c.symbols {
			t.Errorf("HasSymbols(%s) = %v, want %v", c.path, got, c.symbols)
		}
		if got := IsGoProgram(c.path); got != c.goBin {
			t.Errorf("IsGoProgram(%s) = %v, want %v", c.path, got, c.goBin)
		}
	}
	if _, err := IsELF(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("IsELF of a missing file: no error")
	}
}
