package toolchain

import (
	"archive/zip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/filehash"
	"github.com/debforge/debforge/internal/source"
)

const v, goarch = "1.26.8", "amd64"

// zipPathIn is where Ensure finds the module zip under dir.
func zipPathIn(dir string) string {
	return filepath.Join(dir, "modcache", "cache", "download", "golang.org", "toolchain", "@v", "v0.0.1-go"+v+".linux-"+goarch+".zip")
}

// writeZip writes a module zip with the given entries (name → body);
// a name without "/" at the start is put under the module's prefix.
func writeZip(t *testing.T, p string, entries map[string]string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum, err := source.HashZip(p)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

var prefix = Module(v, goarch) + "/"

// fakeProxy is a runner whose 'go mod download' writes the zip the test
// says the proxy serves.
func fakeProxy(t *testing.T, dir string, entries map[string]string) *execx.Fake {
	return &execx.Fake{Fail: func(c execx.Cmd) error {
		if len(c.Args) < 3 || c.Args[0] != "go" || c.Args[2] != "download" {
			t.Errorf("unexpected command %v", c.Args)
			return errors.New("unexpected")
		}
		writeZip(t, zipPathIn(dir), entries)
		return nil
	}}
}

func TestEnsureUnpacksAVerifiedZipOnce(t *testing.T) {
	dir := t.TempDir()
	good := map[string]string{prefix + "bin/go": "#!go", prefix + "pkg/tool/linux_amd64/compile": "c", prefix + "src/fmt/print.go": "package fmt"}
	sum := writeZip(t, filepath.Join(t.TempDir(), "ref.zip"), good)
	r := fakeProxy(t, dir, good)
	tc, err := Ensure(context.Background(), r, dir, v, goarch, sum, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{"bin/go": 0o755, "pkg/tool/linux_amd64/compile": 0o755, "src/fmt/print.go": 0o644} {
		fi, err := os.Stat(filepath.Join(tc.GOROOT, p))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %v", p, fi, err, mode)
		}
	}
	if _, err := Ensure(context.Background(), r, dir, v, goarch, sum, io.Discard); err != nil || len(r.Cmds) != 1 {
		t.Errorf("second Ensure: %v, %d downloads, want the unpacked tree reused", err, len(r.Cmds))
	}
}

// A zip that fails its pinned hash is refused with the fix, nothing is
// unpacked, and the bad zip is not kept: the next run fetches again
// rather than failing on the same cached file for ever.
func TestEnsureRefusesAZipThatFailsItsPin(t *testing.T) {
	dir := t.TempDir()
	good := map[string]string{prefix + "bin/go": "#!go"}
	sum := writeZip(t, filepath.Join(t.TempDir(), "ref.zip"), good)
	r := fakeProxy(t, dir, map[string]string{prefix + "bin/go": "#!evil go"})
	_, err := Ensure(context.Background(), r, dir, v, goarch, sum, io.Discard)
	var me *MismatchError
	if !errors.As(err, &me) || me.Want != sum || me.Got == sum || me.Module != Module(v, goarch) {
		t.Fatalf("err = %v, want a MismatchError", err)
	}
	if !strings.Contains(err.Error(), "hash mismatch: debforge.yaml pins "+sum) ||
		me.Hint() != "check go_toolchain.sums in debforge.yaml against 'go mod download -json "+Module(v, goarch)+"' (Sum)" {
		t.Errorf("message %q, hint %q", err, me.Hint())
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "go*"))
	if len(entries) != 0 {
		t.Errorf("unpacked after a mismatch: %v", entries)
	}
	if _, err := os.Stat(zipPathIn(dir)); err == nil {
		t.Error("the zip that failed its pin is kept in the cache")
	}
	// The proxy now serves the right zip: the next run fetches it again.
	r2 := fakeProxy(t, dir, good)
	if _, err := Ensure(context.Background(), r2, dir, v, goarch, sum, io.Discard); err != nil || len(r2.Cmds) != 1 {
		t.Errorf("after a mismatch: %v, %d downloads; want a fresh download that verifies", err, len(r2.Cmds))
	}
}

// An entry that would land outside the toolchain tree (../ or an
// absolute path after the module prefix) stops the unzip, even in a zip
// whose hash is the pinned one, and nothing is written outside.
func TestUnzipRefusesEntriesThatLeaveTheTree(t *testing.T) {
	for name, entry := range map[string]string{
		"dotdot":        prefix + "../../escaped",
		"nested dotdot": prefix + "src/../../../escaped",
		"absolute":      prefix + "/tmp/escaped",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			entries := map[string]string{prefix + "bin/go": "#!go", entry: "x"}
			sum := writeZip(t, filepath.Join(t.TempDir(), "ref.zip"), entries)
			_, err := Ensure(context.Background(), fakeProxy(t, dir, entries), dir, v, goarch, sum, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "leaves the toolchain tree") {
				t.Fatalf("err = %v, want the entry refused", err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "go*")); len(left) != 0 {
				t.Errorf("a toolchain tree (or its half-written .tmp) is left: %v", left)
			}
			filepath.Walk(filepath.Dir(dir), func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Name() == "escaped" {
					t.Errorf("written outside the tree: %s", p)
				}
				return nil
			})
		})
	}
}

// Tarball packs a toolchain once and packs it again after it is unpacked
// anew under another hash; its hash is the tar's own.
func TestTarballFollowsTheUnpackedToolchain(t *testing.T) {
	dir := t.TempDir()
	goroot := filepath.Join(dir, "go"+v+".linux-"+goarch)
	write := func(sum, body string) {
		t.Helper()
		for p, b := range map[string]string{".debforge-sum": sum, "bin/go": body} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(goroot, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(goroot, p), []byte(b), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	tarball := func() (string, string) {
		t.Helper()
		tar, sum, err := Tarball(context.Background(), execx.OS{}, goroot, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := filehash.SHA256(tar); err != nil || got != sum {
			t.Fatalf("Tarball says %s, the tar hashes to %s (%v)", sum, got, err)
		}
		return tar, sum
	}
	write("h1:one", "first")
	tar, first := tarball()
	if tar != goroot+".tar" {
		t.Errorf("tarball at %s, want beside the toolchain", tar)
	}
	st, _ := os.Stat(tar)
	if _, again := tarball(); again != first {
		t.Error("the same toolchain packed to another hash")
	}
	if st2, _ := os.Stat(tar); !os.SameFile(st, st2) {
		t.Error("the same toolchain was packed twice")
	}
	write("h1:two", "second")
	if _, second := tarball(); second == first {
		t.Error("a toolchain unpacked anew kept the old tarball")
	}
	if _, _, err := Tarball(context.Background(), execx.OS{}, filepath.Join(dir, "none"), io.Discard); err == nil {
		t.Error("a directory debforge did not unpack was packed")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
