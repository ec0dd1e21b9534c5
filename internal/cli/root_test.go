package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRoot puts a ready root (meta.json and an unpacked tree with a
// dpkg status) of release/amd64 with deps at dir/release-amd64/id.
func writeRoot(t *testing.T, dir, release, id, deps, sha string, pkgs ...string) {
	t.Helper()
	root := filepath.Join(dir, release+"-amd64", id)
	if err := os.MkdirAll(filepath.Join(root, "rootfs", "var", "lib", "dpkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	var status strings.Builder
	for _, p := range pkgs {
		status.WriteString("Package: " + p + "\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n")
	}
	meta := `{"release": "` + release + `", "arch": "amd64", "depends": ` + deps + `, "tar_sha256": "` + sha + `"}`
	for p, body := range map[string]string{"meta.json": meta, "rootfs/var/lib/dpkg/status": status.String()} {
		if err := os.WriteFile(filepath.Join(root, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// root list prints a header and one row per ready root: target, key,
// package count, build dependencies ("-" for none) and tarball sha256. A
// directory without a record (being made, or broken) is not listed.
func TestRootList(t *testing.T) {
	roots := t.TempDir()
	writeRoot(t, roots, "bookworm", "base", "null", "aaaa", "dpkg", "libc6")
	writeRoot(t, roots, "bookworm", "0123456789abcdef", `["gcc", "make"]`, "bbbb", "dpkg", "gcc", "libc6", "make")
	writeRoot(t, roots, "trixie", "base", "null", "cccc", "dpkg")
	if err := os.MkdirAll(filepath.Join(roots, "trixie-amd64", "halfmade"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, specsDir(t, nil), "--roots-dir", roots, "root", "list")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "TARGET KEY PACKAGES BUILD_DEPENDS TARBALL SHA256" {
		t.Fatalf("want a header and 3 rows:\n%s", stdout)
	}
	var rows []string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 5 || len(f[1]) != 32 {
			t.Fatalf("row %q: want target, a 32-digit key, count, depends, sha256", l)
		}
		rows = append(rows, strings.Join(append([]string{f[0]}, f[2:]...), " "))
	}
	for _, want := range []string{"bookworm/amd64 2 - aaaa", "bookworm/amd64 4 [gcc make] bbbb", "trixie/amd64 1 - cccc"} {
		found := false
		for _, r := range rows {
			found = found || r == want
		}
		if !found {
			t.Errorf("no row %q in:\n%s", want, stdout)
		}
	}
}
