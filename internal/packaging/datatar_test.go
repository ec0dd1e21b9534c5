package packaging

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/testutil"
)

// Issue 11 item 10: data.tar is compressed once, in parallel, and the
// bytes do not depend on the number of cores or on timing: a package of
// several gzip blocks is byte-identical at GOMAXPROCS 1 and 4, dpkg-deb
// and Go's gzip read it, and the content survives.
func TestParallelGzipSameBytesAnyCoreCount(t *testing.T) {
	in := fixture(t)
	// Compressible but not trivial: 5 MiB spans several 1 MiB blocks.
	rng := rand.New(rand.NewSource(1))
	words := []string{"runc ", "containerd ", "debforge ", "\n", "0x", "package ", "gzip "}
	var big bytes.Buffer
	for big.Len() < 5<<20+12345 {
		big.WriteString(words[rng.Intn(len(words))])
		big.WriteByte(byte('a' + rng.Intn(26)))
	}
	testutil.Must(t, os.MkdirAll(filepath.Join(in.StageDir, "usr/bin"), 0o755))
	if err := os.WriteFile(filepath.Join(in.StageDir, "usr/bin/big"), big.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	build := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		p, err := Build(in, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	one, four := build(1), build(4)
	if !bytes.Equal(one, four) {
		t.Fatalf("GOMAXPROCS 1 and 4 give different packages (%d vs %d bytes)", len(one), len(four))
	}
	p := filepath.Join(t.TempDir(), "x.deb")
	testutil.Must(t, os.WriteFile(p, one, 0o644))
	d, err := debfile.ReadFile(p, debfile.Options{Data: true, Bodies: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range d.Data {
		if e.Name == "./usr/bin/big" {
			found = bytes.Equal(e.Body, big.Bytes())
		}
	}
	if !found {
		t.Error("usr/bin/big did not survive the round trip")
	}
	if _, err := exec.LookPath("dpkg-deb"); err == nil {
		if out, err := exec.Command("dpkg-deb", "--fsys-tarfile", p).Output(); err != nil || len(out) < big.Len() {
			t.Errorf("dpkg-deb --fsys-tarfile: %v (%d bytes)", err, len(out))
		}
	}
}
