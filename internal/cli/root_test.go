package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/buildroot"
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

// root list prints a header and one row per made root: target, key,
// package count, build dependencies ("-" for none), its own size, what it
// derives from and the base tarball's sha256. A directory without a
// record (being made, or broken) is not listed.
func TestRootList(t *testing.T) {
	roots := t.TempDir()
	writeRoot(t, roots, "bookworm", "base", "null", "aaaa", "dpkg", "libc6")
	writeRoot(t, roots, "bookworm", "0123456789abcdef", `["gcc", "make"], "base": "aaaa"`, "", "dpkg", "gcc", "libc6", "make")
	writeRoot(t, roots, "trixie", "0123456789abcdef", `["gcc"]`, "dddd", "dpkg", "gcc")
	writeRoot(t, roots, "trixie", "base", "null", "cccc", "dpkg")
	if err := os.MkdirAll(filepath.Join(roots, "trixie-amd64", "halfmade"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, specsDir(t, nil), "--roots-dir", roots, "root", "list")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != "TARGET KEY PACKAGES BUILD_DEPENDS SIZE DERIVED_FROM BASE TARBALL SHA256" {
		t.Fatalf("want a header and 4 rows:\n%s", stdout)
	}
	var rows []string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 7 || len(f[1]) != 32 || !strings.HasSuffix(f[len(f)-3], "MB") {
			t.Fatalf("row %q: want target, a 32-digit key, count, depends, size, base, sha256", l)
		}
		f = slices.Delete(f, len(f)-3, len(f)-2) // the size, which depends on the file system
		rows = append(rows, strings.Join(append([]string{f[0]}, f[2:]...), " "))
	}
	// The trixie [gcc] root records no base: a whole root of an older
	// debforge, derived again on its next use.
	for _, want := range []string{"bookworm/amd64 2 - - aaaa", "bookworm/amd64 4 [gcc make] base aaaa", "trixie/amd64 1 - - cccc", "trixie/amd64 2 [gcc] stale -"} {
		found := false
		for _, r := range rows {
			found = found || r == want
		}
		if !found {
			t.Errorf("no row %q in:\n%s", want, stdout)
		}
	}
}

// validate finds a build dependency or dependency that no release package
// (as a root of the release recorded its names) and no spec provides:
// each is an error at its file:line:col; a relation is known when one of
// its alternatives is, and a spec's own packages and provides count.
func TestValidateFindsUnknownPackageNames(t *testing.T) {
	roots := t.TempDir()
	host, err := buildroot.HostRelease()
	if err != nil {
		t.Fatal(err)
	}
	writeRoot(t, roots, host, "base", "null", "aaaa", "dpkg")
	names := filepath.Join(roots, host+"-amd64", "base", "rootfs", "var", "lib", "debforge")
	if err := os.MkdirAll(names, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(names, "release-names"), []byte("gcc\nlibc6\nmake\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	specs := specsDir(t, map[string]string{
		"aa": "license_file: COPYING\ncopyright: x\nsource: {dir: .}\nbuild:\n  kind: make\n  build_depends: [gcc, libfoo-devv]\n" +
			"package:\n  provides: [aa-virtual]\n  depends: [libc6, nosuch | make, missing-pkg, bb, aa-virtual]\n",
		"bb": "package:\n  depends: [aa]\n",
	})
	code, _, stderr := run(t, specs, "--roots-dir", roots, "validate")
	if code != ExitUsage {
		t.Errorf("exit %d, want %d:\n%s", code, ExitUsage, stderr)
	}
	for _, want := range []string{"aa.yaml:11:24: build.build_depends[1]: no package \"libfoo-devv\" in " + host,
		"aa.yaml:14:35: package.depends[2]: no package \"missing-pkg\""} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Count(stderr, "no package") != 2 {
		t.Errorf("want exactly two unknown names:\n%s", stderr)
	}
}

// clean removes the derived roots no spec builds in any more, on any of
// its targets, and keeps the bases and the roots the specs use.
func TestCleanRemovesRootsNoSpecUses(t *testing.T) {
	roots := t.TempDir()
	specs := specsDir(t, map[string]string{"tool": "license_file: LICENSE\nsource: {dir: .}\nbuild:\n  kind: script\n  build_depends: [gcc]\n  steps: [\"true\"]\n"})
	if err := os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"A B <a@example.org>\"\ntargets: [bookworm/amd64]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(specs, "LICENSE"), []byte("MIT License\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := &buildroot.Store{Dir: roots}
	bw, tx := buildroot.Target{Release: "bookworm", Arch: "amd64"}, buildroot.Target{Release: "trixie", Arch: "amd64"}
	dirs := map[string]string{
		"bookworm base": store.DirOf(bw, nil), "bookworm [gcc]": store.DirOf(bw, []string{"gcc"}),
		"bookworm [make]": store.DirOf(bw, []string{"make"}), "trixie base": store.DirOf(tx, nil), "trixie [gcc]": store.DirOf(tx, []string{"gcc"}),
	}
	for _, d := range dirs {
		rel, id := filepath.Base(filepath.Dir(d)), filepath.Base(d)
		writeRoot(t, roots, strings.TrimSuffix(rel, "-amd64"), id, `["x"], "base": "aaaa"`, "", "dpkg")
	}
	code, stdout, stderr := run(t, specs, "--roots-dir", roots, "clean")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if os.Geteuid() != 0 {
		if !strings.Contains(stderr, "only root removes them") {
			t.Errorf("as a user: stderr %q, want the note that only root removes roots", stderr)
		}
		return
	}
	if !strings.Contains(stdout, "removed 2 unused build roots from "+roots) {
		t.Errorf("stdout %q\n%s", stdout, stderr)
	}
	for name, d := range dirs {
		_, err := os.Stat(d)
		if gone := os.IsNotExist(err); gone != (name == "bookworm [make]" || name == "trixie [gcc]") {
			t.Errorf("%s: removed %v", name, gone)
		}
	}
}

// clean removes the Go build caches no spec's build writes any more: a
// removed component's, a per-root cache of a root no spec builds in, a
// pure cache of a component that is no longer pure; it keeps the ones in
// use, the module cache and the cache the go command shares.
func TestCleanRemovesGoCachesNoSpecWrites(t *testing.T) {
	roots, cache := t.TempDir(), t.TempDir()
	specs := specsDir(t, map[string]string{
		"tool":     "license_file: LICENSE\nsource: {dir: .}\nbuild:\n  kind: script\n  build_depends: [gcc]\n  steps: [\"true\"]\n",
		"puretool": "license_file: LICENSE\nsource: {dir: .}\nbuild:\n  kind: go\n  binaries: [{main: ., dst: /usr/bin/puretool}]\n",
	})
	if err := os.WriteFile(filepath.Join(specs, "debforge.yaml"), []byte("maintainer: \"A B <a@example.org>\"\ntargets: [bookworm/amd64]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(specs, "LICENSE"), []byte("MIT License\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := &buildroot.Store{Dir: roots}
	bw := buildroot.Target{Release: "bookworm", Arch: "amd64"}
	writeRoot(t, roots, "bookworm", "base", "null", "aaaa", "dpkg")
	keys := map[string]string{}
	for _, dep := range []string{"gcc", "make"} {
		d := store.DirOf(bw, []string{dep})
		writeRoot(t, roots, "bookworm", filepath.Base(d), `["`+dep+`"], "base": "aaaa"`, "", "dpkg", dep)
	}
	list, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if len(r.Depends) == 1 {
			keys[r.Depends[0]] = r.Key[:16]
		}
	}
	if len(keys) != 2 || keys["gcc"] == keys["make"] {
		t.Fatalf("root keys %v: the test needs two distinct ones", keys)
	}
	kept := []string{"build-trusted", "mod", "build-tool-" + keys["gcc"], "build-puretool-pure"}
	gone := []string{"build-tool-" + keys["make"], "build-tool-pure", "build-gone-pure"}
	for _, d := range append(append([]string{}, kept...), gone...) {
		if err := os.MkdirAll(filepath.Join(cache, "go", d, "00"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := run(t, specs, "--roots-dir", roots, "--cache-dir", cache, "clean")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if want := "removed 3 unused Go build caches from " + filepath.Join(cache, "go"); !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	for _, d := range kept {
		if _, err := os.Stat(filepath.Join(cache, "go", d)); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	for _, d := range gone {
		if _, err := os.Stat(filepath.Join(cache, "go", d)); !os.IsNotExist(err) {
			t.Errorf("%s stayed", d)
		}
	}
}
