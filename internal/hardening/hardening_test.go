package hardening

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

const prog = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	char buf[64];
	strcpy(buf, argc > 1 ? argv[1] : "world");
	printf("hello %s\n", buf);
	return 0;
}
`

// The flags the make and autotools builders pass (builders.CFlagsEnv).
var hardened = []string{"-g", "-O2", "-fstack-protector-strong", "-Wformat", "-Werror=format-security",
	"-Wdate-time", "-D_FORTIFY_SOURCE=2", "-Wl,-z,relro", "-Wl,-z,now"}

// TestCheckAgreesWithHardeningCheck compiles the same program with each
// hardening feature taken away in turn and checks that Check finds exactly
// that one missing, and that devscripts' hardening-check agrees.
func TestCheckAgreesWithHardeningCheck(t *testing.T) {
	testutil.RequireTool(t, "gcc", "strip", "hardening-check")
	dir := t.TempDir()
	src := filepath.Join(dir, "h.c")
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		flags []string
		want  []Feature
	}{
		{"all", hardened, nil},
		{"no-pie", append(slices.Clone(hardened), "-no-pie"), []Feature{PIE}},
		{"no-stack-protector", append(slices.Clone(hardened), "-fno-stack-protector"), []Feature{StackProtector}},
		{"no-fortify", append(slices.Clone(hardened), "-U_FORTIFY_SOURCE"), []Feature{Fortify}},
		{"no-relro", append(slices.Clone(hardened), "-Wl,-z,norelro"), []Feature{RELRO}},
		{"lazy", append(slices.Clone(hardened), "-Wl,-z,lazy"), []Feature{BindNow}},
		{"own CFLAGS", []string{"-O0", "-fno-stack-protector", "-no-pie"}, []Feature{PIE, StackProtector, Fortify, BindNow}},
		{"static", append(slices.Clone(hardened), "-static"), []Feature{PIE, BindNow}},
	}
	hcTag := map[Feature]string{PIE: "no-pie", StackProtector: "no-stackprotector",
		Fortify: "no-fortify-functions", RELRO: "no-relro", BindNow: "no-bindnow"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(dir, tc.name)
			out, err := exec.Command("gcc", append(append([]string{}, tc.flags...), "-o", bin, src)...).CombinedOutput()
			if err != nil {
				t.Fatalf("gcc: %v\n%s", err, out)
			}
			// Judge what gets packaged: builders.StripELF runs first.
			if out, err := exec.Command("strip", "--strip-unneeded", bin).CombinedOutput(); err != nil {
				t.Fatalf("strip: %v\n%s", err, out)
			}
			r, err := Check(bin)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Missing, tc.want) {
				t.Errorf("Check(%s) missing %v, want %v", tc.name, r.Missing, tc.want)
			}
			// Bookworm's glibc start files carry no CET marking, so no
			// bookworm binary has IBT/SHSTK: --nocfprotection, as Debian's
			// own bookworm build flags do not ask for it either.
			hc := exec.Command("hardening-check", "--nocfprotection", "--lintian", bin)
			hcOut, err := hc.CombinedOutput()
			if err != nil {
				t.Fatalf("hardening-check: %v\n%s", err, hcOut)
			}
			var hcTags, ours []string
			for _, line := range strings.Split(strings.TrimSpace(string(hcOut)), "\n") {
				if tag, _, ok := strings.Cut(line, ":"); ok {
					hcTags = append(hcTags, tag)
				}
			}
			for _, f := range r.Missing {
				ours = append(ours, hcTag[f])
			}
			slices.Sort(hcTags)
			slices.Sort(ours)
			if !slices.Equal(hcTags, ours) {
				t.Errorf("hardening-check reports %v, Check %v", hcTags, ours)
			}
		})
	}
}

func TestCheckTreeSkipsGoAndNonELF(t *testing.T) {
	testutil.RequireTool(t, "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "h.c")
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(dir, "stage")
	if err := os.MkdirAll(filepath.Join(stage, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O0", "-no-pie", "-o", filepath.Join(stage, "usr/bin/weak"), src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(stage, "usr/bin/script"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary itself is a Go ELF file: not judged by C rules.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "usr/bin/gotool"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	reports, err := CheckTree(stage)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Path != "/usr/bin/weak" {
		t.Fatalf("CheckTree = %v, want only /usr/bin/weak", reports)
	}
	msg := reports[0].String()
	for _, want := range []string{"/usr/bin/weak", "pie", "stackprotector", "-fstack-protector-strong", "{{.CFLAGS}}"} {
		if !strings.Contains(msg, want) {
			t.Errorf("report %q does not mention %q", msg, want)
		}
	}
}

// A PIE that loads no library (Go's, a static-pie C program) is what
// lintian mistakes for a library lacking prerequisites; a PIE that links
// libc, a library and a non-PIE executable are not.
func TestSelfContainedPIE(t *testing.T) {
	testutil.RequireTool(t, "gcc", "go")
	dir := t.TempDir()
	src := filepath.Join(dir, "h.c")
	goSrc := filepath.Join(dir, "main.go")
	for p, body := range map[string]string{src: prog, goSrc: "package main\n\nfunc main() { println(\"hi\") }\n",
		filepath.Join(dir, "go.mod"): "module example.com/pie\n\ngo 1.22\n"} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(name string, cmd ...string) string {
		out := filepath.Join(dir, name)
		args := []string{"-o", out}
		if cmd[0] == "go" { // go build's flags precede its package
			cmd, args = cmd[:2], append(args, cmd[2:]...)
		}
		c := exec.Command(cmd[0], append(cmd[1:], args...)...)
		c.Dir = dir
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, b)
		}
		return out
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{build("go-pie", "go", "build", "-buildmode=pie", "."), true},
		{build("static-pie", "gcc", "-static-pie", src), true},
		{build("go-exe", "go", "build", "."), false},
		{build("pie", "gcc", "-pie", "-fPIE", src), false},
		{build("lib.so", "gcc", "-shared", "-fPIC", "-nostdlib", src), false},
		{src, false},
	} {
		got, err := SelfContainedPIE(tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if got != tc.want {
			t.Errorf("SelfContainedPIE(%s) = %v, want %v", filepath.Base(tc.path), got, tc.want)
		}
	}
}
