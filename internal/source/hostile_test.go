package source

import (
	"archive/tar"
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// hostDir is a directory outside every extraction target, standing for
// the host: a 0600 "secret" and a "data" directory that must survive.
func hostDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "secret"), []byte("host secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(d, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "data", "keep"), []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// checkHostIntact fails if anything under host changed.
func checkHostIntact(t *testing.T, host string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(host, "data", "keep")); err != nil || string(b) != "keep\n" {
		t.Errorf("host directory damaged: data/keep = %q, %v", b, err)
	}
	entries, _ := os.ReadDir(host)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("host directory has new entries: %v", names)
	}
}

// symlinkChain is the reproduction, before strip 1: a 12-deep
// directory, d12/s pointing 12 levels up (the tree root), then d12/s/up
// pointing 13 levels up, which lands as <root>/up -> "/". A check of the
// link text alone passes both.
func symlinkChain() []entry {
	deep := "pkg"
	var es []entry
	for i := 1; i <= 12; i++ {
		deep += "/d" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		es = append(es, entry{name: deep + "/", typ: tar.TypeDir})
	}
	es = append(es,
		entry{name: deep + "/s", typ: tar.TypeSymlink, link: strings.TrimSuffix(strings.Repeat("../", 12), "/")},
		entry{name: deep + "/s/up", typ: tar.TypeSymlink, link: strings.TrimSuffix(strings.Repeat("../", 13), "/")},
	)
	return es
}

// viaUp is the archive name reaching host path p through <root>/up -> "/".
func viaUp(p string) string {
	return "pkg/up/" + strings.TrimPrefix(p, "/")
}

func TestArchiveSymlinkChain(t *testing.T) {
	cases := []struct {
		name  string
		tail  func(host string) []entry
		check func(t *testing.T, host, dst string)
	}{
		{"file written through the chain", func(host string) []entry {
			return []entry{{name: viaUp(host) + "/written", body: "pwned"}}
		}, func(t *testing.T, host, dst string) {
			if _, err := os.Lstat(filepath.Join(host, "written")); err == nil {
				t.Error("a file was written on the host")
			}
		}},
		{"hard link to a host file", func(host string) []entry {
			return []entry{{name: "pkg/leak", typ: tar.TypeLink, link: viaUp(host) + "/secret"}}
		}, func(t *testing.T, host, dst string) {
			if _, err := os.Lstat(filepath.Join(dst, "leak")); err == nil {
				t.Error("the host secret was linked into the tree")
			}
		}},
		// Not in the issue: a directory entry (not a file) through the chain.
		{"directory made through the chain", func(host string) []entry {
			return []entry{{name: viaUp(host) + "/newdir/", typ: tar.TypeDir}}
		}, func(t *testing.T, host, dst string) {
			if _, err := os.Lstat(filepath.Join(host, "newdir")); err == nil {
				t.Error("a directory was made on the host")
			}
		}},
		// Not in the issue: a link whose text stays inside the tree but
		// resolves outside because it goes through the earlier link s.
		{"link whose text stays inside", func(host string) []entry {
			return []entry{{name: "pkg/y", typ: tar.TypeSymlink, link: "d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/s/.."}}
		}, func(t *testing.T, host, dst string) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host := hostDir(t)
			dst := t.TempDir()
			es := symlinkChain()
			if tc.name == "link whose text stays inside" {
				es = es[:len(es)-1] // s only: y is the second link
			}
			err := ExtractTar(writeTarGz(t, append(es, tc.tail(host)...)), dst, 1)
			if !errors.Is(err, ErrUnsafePath) {
				t.Errorf("err = %v, want ErrUnsafePath", err)
			}
			t.Logf("refused: %v", err)
			tc.check(t, host, dst)
			checkHostIntact(t, host)
		})
	}
}

// The delete case: vendor -> up/<host dir> and delete:
// [vendor/data] removed a host directory. From a tarball (the chain) and
// from a local dir source, which keeps links as they are. The issue's
// tarball is refused by extraction (the chain) and never reaches delete;
// the second case does.
func TestDeleteThroughSymlink(t *testing.T) {
	t.Run("tarball", func(t *testing.T) {
		host := hostDir(t)
		tarball := writeTarGz(t, append(symlinkChain(),
			entry{name: "pkg/vendor", typ: tar.TypeSymlink, link: "up/" + strings.TrimPrefix(host, "/")}))
		one := 1
		c := &spec.Component{Name: "x", Source: &spec.Source{Tarball: "http://x/a.tar.gz", StripComponents: &one, Delete: []string{"vendor/data"}}}
		fe := &Fetched{Kind: "tarball", Path: tarball}
		err := (&Fetcher{Runner: &execx.Fake{}}).Prepare(context.Background(), c, fe, t.TempDir(), io.Discard)
		if !errors.Is(err, ErrUnsafePath) {
			t.Errorf("err = %v, want ErrUnsafePath", err)
		}
		checkHostIntact(t, host)
	})
	// A tarball cannot hold a link that leads out (extraction refuses
	// it), so this one holds only an inside link, x/y/vendor -> ../.. (the
	// tree root), which extraction accepts. The delete path
	// x/y/vendor/../<host>/data is inside the tree as text (validate
	// accepts it) but leaves it when the kernel resolves it: vendor/..
	// is the parent of the tree. Only deleteBeneath stands in the way.
	t.Run("tarball with an inside link and a delete path out through it", func(t *testing.T) {
		base := t.TempDir()
		host := filepath.Join(base, "host")
		testutil.Must(t, os.Rename(hostDir(t), host))
		dst := filepath.Join(base, "dst")
		tarball := writeTarGz(t, []entry{
			{name: "pkg/x/y/", typ: tar.TypeDir},
			{name: "pkg/x/y/vendor", typ: tar.TypeSymlink, link: "../.."},
			{name: "pkg/README", body: "hi\n"},
		})
		del := "x/y/vendor/../host/data"
		if c := path.Clean(del); c == ".." || strings.HasPrefix(c, "../") {
			t.Fatalf("%q leaves the tree as text: validate (checkRelPath) would refuse it", del)
		}
		one := 1
		c := &spec.Component{Name: "x", Source: &spec.Source{Tarball: "http://x/a.tar.gz", StripComponents: &one, Delete: []string{del}}}
		fe := &Fetched{Kind: "tarball", Path: tarball}
		err := (&Fetcher{Runner: &execx.Fake{}}).Prepare(context.Background(), c, fe, dst, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "source.delete "+del+": ") || !strings.Contains(err.Error(), "leads out of the source tree") {
			t.Errorf("err = %v, want source.delete %s refused as leading out of the tree", err, del)
		}
		t.Logf("refused: %v", err)
		if b, err := os.ReadFile(filepath.Join(dst, "README")); err != nil || string(b) != "hi\n" {
			t.Errorf("extraction did not run to the end (README: %q, %v): the case must reach delete", b, err)
		}
		checkHostIntact(t, host)
	})
	t.Run("dir source with an absolute link", func(t *testing.T) {
		host := hostDir(t)
		src := t.TempDir()
		if err := os.Symlink(host, filepath.Join(src, "vendor")); err != nil {
			t.Fatal(err)
		}
		c := &spec.Component{Name: "x", Source: &spec.Source{Dir: ".", Delete: []string{"vendor/data"}}}
		fe := &Fetched{Kind: "dir", Path: src}
		err := (&Fetcher{Runner: &execx.Fake{}}).Prepare(context.Background(), c, fe, t.TempDir(), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "vendor/data") {
			t.Errorf("err = %v, want a refusal naming vendor/data", err)
		}
		t.Logf("refused: %v", err)
		checkHostIntact(t, host)
	})
}

// Not in the issue: the same trick in a module zip, and legitimate
// links that must keep working. Module zips carry no links at all (the go
// command writes none), so a symlink entry stops the extraction.
func TestZipSymlinkChainRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.zip")
	f, err := os.Create(p)
	testutil.Must(t, err)
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "example.org/m@v1.0.0/s"}
	h.SetMode(os.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(h)
	testutil.Must(t, err)
	w.Write([]byte(".."))
	w, err = zw.Create("example.org/m@v1.0.0/s/up/evil")
	testutil.Must(t, err)
	w.Write([]byte("x"))
	testutil.Must(t, zw.Close())
	testutil.Must(t, f.Close())
	dst := filepath.Join(t.TempDir(), "x")
	if err := ExtractZip(p, dst); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("err = %v, want ErrUnsafePath", err)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(dst), "up")); err == nil {
		t.Error("a directory was made outside the target")
	}
}

func TestExtractTarKeepsInsideHardLinksAndLinkedDirs(t *testing.T) {
	dst := t.TempDir()
	err := ExtractTar(writeTarGz(t, []entry{
		{name: "pkg-1.0/lib/real.so.1", body: "ELF"},
		{name: "pkg-1.0/lib/hard.so", typ: tar.TypeLink, link: "pkg-1.0/lib/real.so.1"},
		{name: "pkg-1.0/include", typ: tar.TypeSymlink, link: "lib"},
		{name: "pkg-1.0/docs/up", typ: tar.TypeSymlink, link: "../lib/real.so.1"},
	}), dst, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"lib/hard.so", "include/real.so.1", "docs/up"} {
		if b, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(b) != "ELF" {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
}

// Prepare hands archives (tarballs, module zips) to the Fetcher's
// Unpacker, which debforge runs in a sandbox; dir sources it copies
// itself.
func TestPrepareUsesUnpacker(t *testing.T) {
	var got []string
	f := &Fetcher{Runner: &execx.Fake{}, Unpack: func(_ context.Context, kind, archive, dst string, strip int, maxBytes int64, _ io.Writer) error {
		got = append(got, fmt.Sprintf("%s %s %d %d", kind, filepath.Base(archive), strip, maxBytes))
		return nil
	}}
	two := 2
	for _, tc := range []struct {
		c  *spec.Component
		fe *Fetched
	}{
		{&spec.Component{Name: "t", Source: &spec.Source{Tarball: "http://x/a.tar.gz", StripComponents: &two}, Limits: spec.Limits{UnpackedSize: "1MiB"}}, &Fetched{Kind: "tarball", Path: "/cache/a.tar.gz"}},
		{&spec.Component{Name: "m", Source: &spec.Source{GoModule: "example.org/m@v1.0.0"}}, &Fetched{Kind: "go_module", Path: "/cache/v1.0.0.zip"}},
		{&spec.Component{Name: "d", Source: &spec.Source{Dir: "."}}, &Fetched{Kind: "dir", Path: t.TempDir()}},
	} {
		if err := f.Prepare(context.Background(), tc.c, tc.fe, t.TempDir(), io.Discard); err != nil {
			t.Fatalf("%s: %v", tc.c.Name, err)
		}
	}
	if strings.Join(got, ", ") != "tar a.tar.gz 2 1048576, zip v1.0.0.zip 0 8589934592" {
		t.Errorf("Unpacker calls: %q", got)
	}
}
