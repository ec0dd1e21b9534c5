package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

type entry struct {
	name, body, link string
	typ              byte
	mtime            time.Time
}

func writeTarGz(t *testing.T, entries []entry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	tw := tar.NewWriter(z)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link, ModTime: e.mtime}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	z.Close()
	f.Close()
	return p
}

func TestExtractTarRefusesEscapes(t *testing.T) {
	cases := []struct {
		name    string
		entries []entry
	}{
		{"absolute path", []entry{{name: "/etc/evil", body: "x"}}},
		{"dot-dot", []entry{{name: "pkg-1.0/../../evil", body: "x"}}},
		{"dot-dot after strip", []entry{{name: "pkg-1.0/a/../../../evil", body: "x"}}},
		{"absolute symlink", []entry{{name: "pkg-1.0/link", typ: tar.TypeSymlink, link: "/etc/passwd"}}},
		{"relative symlink out", []entry{{name: "pkg-1.0/sub/link", typ: tar.TypeSymlink, link: "../../../etc"}}},
		{"hard link out", []entry{{name: "pkg-1.0/hl", typ: tar.TypeLink, link: "../etc/passwd"}}},
		// A relative symlink that stays inside where it is, and a hard
		// link to it higher up, where the same text leads out.
		{"hard link to a relative symlink", []entry{
			{name: "pkg-1.0/README", body: "x"},
			{name: "pkg-1.0/x/y/z/l", typ: tar.TypeSymlink, link: "../../../README"},
			{name: "pkg-1.0/l2", typ: tar.TypeLink, link: "pkg-1.0/x/y/z/l"},
		}},
		{"hard link to a relative symlink, resolved only at the end", []entry{
			{name: "pkg-1.0/x/y/l", typ: tar.TypeSymlink, link: "../d/f"},
			{name: "pkg-1.0/l2", typ: tar.TypeLink, link: "pkg-1.0/x/y/l"},
			{name: "pkg-1.0/x/d/f", body: "x"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			err := ExtractTar(writeTarGz(t, tc.entries), dst, 1)
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("err = %v, want ErrUnsafePath", err)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dst), "evil")); err == nil {
				t.Fatal("file written outside the target")
			}
		})
	}
}

func TestExtractTarStripsAndKeepsInsideLinks(t *testing.T) {
	dst := t.TempDir()
	err := ExtractTar(writeTarGz(t, []entry{
		{name: "pkg-1.0/", typ: tar.TypeDir},
		{name: "pkg-1.0/src/main.c", body: "int main(){}"},
		{name: "pkg-1.0/link", typ: tar.TypeSymlink, link: "src/main.c"},
	}), dst, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "link"))
	if err != nil || string(b) != "int main(){}" {
		t.Fatalf("read through link: %q %v", b, err)
	}
}

func TestExtractZipRefusesEscapes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("example.org/m@v1.0.0/../../evil")
	w.Write([]byte("x"))
	zw.Close()
	f.Close()
	if err := ExtractZip(p, t.TempDir()); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("err = %v, want ErrUnsafePath", err)
	}
}

// HashZip must agree with the go command: check it against this module's
// own go.sum for a dependency that is in the module cache.
func TestHashZipMatchesGoSum(t *testing.T) {
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checked := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || strings.HasSuffix(fields[1], "/go.mod") {
			continue
		}
		zipPath := filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download", escapePath(fields[0]), "@v", fields[1]+".zip")
		if _, err := os.Stat(zipPath); err != nil {
			continue
		}
		got, err := HashZip(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		if got != fields[2] {
			t.Errorf("%s@%s: HashZip = %s, go.sum says %s", fields[0], fields[1], got, fields[2])
		}
		if checked++; checked == 5 {
			break
		}
	}
	if checked == 0 {
		t.Fatal("no module zip of go.sum found in the module cache (run go mod download)")
	}
}

func TestMismatchStopsBeforeAnythingIsBuilt(t *testing.T) {
	cache := t.TempDir()
	// Lay out a module zip where the go command would have put it.
	dl := filepath.Join(cache, "go", "mod", "cache", "download", "example.org", "m", "@v")
	testutil.Must(t, os.MkdirAll(dl, 0o755))
	f, _ := os.Create(filepath.Join(dl, "v1.0.0.zip"))
	zw := zip.NewWriter(f)
	w, _ := zw.Create("example.org/m@v1.0.0/go.mod")
	w.Write([]byte("module example.org/m\n"))
	zw.Close()
	f.Close()
	fake := &execx.Fake{}
	fetcher := &Fetcher{CacheDir: cache, Runner: fake}
	pinned := "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	c := &spec.Component{Name: "m", Source: &spec.Source{GoModule: "example.org/m@v1.0.0", Sum: pinned}}
	_, err := fetcher.Fetch(context.Background(), c, "", os.Stderr)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("err = %v, want MismatchError", err)
	}
	if mm.Want != pinned || !strings.HasPrefix(mm.Got, "h1:") || mm.Got == pinned {
		t.Errorf("mismatch does not carry both hashes: %+v", mm)
	}
	if !strings.Contains(err.Error(), pinned) || !strings.Contains(err.Error(), mm.Got) {
		t.Errorf("message lacks a hash: %v", err)
	}
	if len(fake.Cmds) != 0 {
		t.Errorf("commands ran after a mismatch: %v", fake.Cmds)
	}
}

func TestEscapePath(t *testing.T) {
	if got := escapePath("github.com/ProtonMail/go-crypto"); got != "github.com/!proton!mail/go-crypto" {
		t.Errorf("escapePath = %q", got)
	}
}

// A small archive that unpacks to more than limits.unpacked_size stops
// the extraction with an error naming the limit and how to raise it.
func TestUnpackStopsAtTheUnpackedSizeLimit(t *testing.T) {
	big := strings.Repeat("x", 3<<20)
	archive := writeTarGz(t, []entry{{name: "pkg-1.0/a", body: big[:1<<20]}, {name: "pkg-1.0/b", body: big}})
	err := Unpack("tar", archive, t.TempDir(), 1, 2<<20)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "limits.unpacked_size (2MiB)") || !strings.Contains(tl.Hint(), "unpacked_size") {
		t.Errorf("err = %v", err)
	}
	if err := Unpack("tar", archive, t.TempDir(), 1, 4<<20); err != nil {
		t.Errorf("within the limit: %v", err)
	}
}

// A tarball source may be a local file, for an admin without a web server
// for their Debian orig tarballs: a path relative to the spec's directory
// or a file:// URL, verified against the same sha256 pin.
func TestLocalTarballIsVerifiedLikeADownload(t *testing.T) {
	specDir := t.TempDir()
	archive := writeTarGz(t, []entry{{name: "jq-1.7.1/README", body: "jq\n"}})
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(specDir, "jq_1.7.1.orig.tar.gz"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	pin := hex.EncodeToString(sum[:])
	one := 1
	for _, ref := range []string{"jq_1.7.1.orig.tar.gz", "file://" + filepath.Join(specDir, "jq_1.7.1.orig.tar.gz")} {
		f := &Fetcher{CacheDir: t.TempDir(), Runner: execx.OS{}}
		c := &spec.Component{Name: "jq", Dir: specDir, File: filepath.Join(specDir, "jq.yaml"), Source: &spec.Source{Tarball: ref, SHA256: pin, StripComponents: &one}}
		fe, err := f.Fetch(context.Background(), c, "", io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		dst := filepath.Join(t.TempDir(), "src")
		if err := f.Prepare(context.Background(), c, fe, dst, io.Discard); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dst, "README")); string(b) != "jq\n" {
			t.Errorf("%s: README %q", ref, b)
		}
		c.Source.SHA256 = strings.Repeat("0", 64)
		f.CacheDir = t.TempDir()
		var mm *MismatchError
		if _, err := f.Fetch(context.Background(), c, "", io.Discard); !errors.As(err, &mm) {
			t.Errorf("%s with another pin: %v", ref, err)
		}
	}
}

// A compressed tarball whose stream is corrupt after the tar's end (xz's
// check and index cut off) is an error: the archive is not what its
// producer wrote. xz was run as a separate program whose exit status was
// never looked at, and the stream was not read past the tar's end.
func TestExtractTarChecksTheWholeCompressedStream(t *testing.T) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, name := range []string{"pkg-1.0/a", "pkg-1.0/b"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 2}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte("x\n"))
	}
	tw.Close()
	var xzBuf bytes.Buffer
	zw, err := xz.NewWriter(&xzBuf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(tarBuf.Bytes())
	zw.Close()
	whole := filepath.Join(t.TempDir(), "a.tar.xz")
	cut := filepath.Join(t.TempDir(), "cut.tar.xz")
	if err := os.WriteFile(whole, xzBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, xzBuf.Bytes()[:xzBuf.Len()-12], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ExtractTar(whole, t.TempDir(), 1); err != nil {
		t.Fatalf("the whole archive: %v", err)
	}
	if err := ExtractTar(cut, t.TempDir(), 1); err == nil {
		t.Error("an xz stream cut after the tar's end extracted without an error")
	}
}

// A module zip's hash is remembered between runs, but never across a
// change of its bytes: not when the go command writes a new file, and not
// when someone rewrites it in place and puts its modification time back
// (its status-change time still moves). The memo must not let a tampered
// zip pass the checksum it once passed.
func TestFetcherRehashesAZipWhoseBytesChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.zip")
	write := func(body string) {
		t.Helper()
		f, err := os.Create(p + ".tmp")
		testutil.Must(t, err)
		zw := zip.NewWriter(f)
		// Stored, not deflated, so its bytes can be changed in place below.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "example.org/m@v1.0.0/a.go", Method: zip.Store})
		testutil.Must(t, err)
		_, err = w.Write([]byte(body))
		testutil.Must(t, err)
		testutil.Must(t, zw.Close())
		testutil.Must(t, f.Close())
		testutil.Must(t, os.Rename(p+".tmp", p)) // a new file, as the go command writes one
	}
	write("package a\n")
	f := Fetcher{CacheDir: t.TempDir()}
	first, err := f.hashZip(p)
	if err != nil || first != mustHash(t, p) {
		t.Fatalf("hashZip = %q, %v; want %q", first, err, mustHash(t, p))
	}
	later := Fetcher{CacheDir: f.CacheDir} // the next run
	if again, err := later.hashZip(p); err != nil || again != first {
		t.Fatalf("next run's hashZip = %q, %v; want %q", again, err, first)
	}

	// Same inode and size, modification time put back, one byte changed.
	testutil.TamperInPlace(t, p, func(data []byte) {
		copy(data[bytes.Index(data, []byte("package a")):], "package b")
	})
	if _, err := later.hashZip(p); err == nil {
		t.Errorf("a zip rewritten in place behind its old modification time got its remembered hash %s back", first)
	}

	write("package a // changed\n")
	if changed, err := later.hashZip(p); err != nil || changed == first || changed != mustHash(t, p) {
		t.Errorf("after the zip was replaced: %q, %v; want %q", changed, err, mustHash(t, p))
	}
}

func mustHash(t *testing.T, p string) string {
	t.Helper()
	h, err := HashZip(p)
	testutil.Must(t, err)
	return h
}
