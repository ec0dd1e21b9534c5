package aptrepo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/packaging"
)

// fileDeb builds a package with one real file in it and puts it into the
// pool.
func fileDeb(t *testing.T, repo, name string) string {
	t.Helper()
	work := t.TempDir()
	stage := filepath.Join(work, "stage")
	os.MkdirAll(filepath.Join(stage, "usr/share", name), 0o755)
	// Incompressible enough that a flipped byte lands in deflate data.
	var body bytes.Buffer
	for i := 0; i < 4000; i++ {
		body.WriteString(strconv.Itoa(i*7919%10007) + " ")
	}
	os.WriteFile(filepath.Join(stage, "usr/share", name, "data.txt"), body.Bytes(), 0o644)
	c := &spec.Component{Name: name, Version: "1.0", Revision: "1", Summary: "s", Description: "Test package.",
		License: "Apache-2.0", Copyright: "2026 test", Maintainer: "Test <t@example.org>", Changes: "Test.", File: "t.yaml",
		Package: &spec.Package{Name: name, Section: "misc", Priority: "optional", Architecture: "all", Compression: "gzip"}}
	deb, err := packaging.Build(packaging.Input{Component: c, StageDir: stage, WorkDir: filepath.Join(work, "w"), Arch: "amd64", MTime: time.Unix(1700000000, 0)}, work)
	if err != nil {
		t.Fatal(err)
	}
	dst, _, err := AddToPool(repo, "main", deb)
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// flipInMember flips one byte in the middle of the named ar member.
func flipInMember(t *testing.T, deb, prefix string) {
	t.Helper()
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	off := 8 // "!<arch>\n"
	for off+60 <= len(data) {
		name := strings.TrimRight(string(data[off:off+16]), "/ ")
		size, err := strconv.Atoi(strings.TrimSpace(string(data[off+48 : off+58])))
		if err != nil {
			t.Fatalf("ar header at %d: %v", off, err)
		}
		if strings.HasPrefix(name, prefix) {
			data[off+60+size/2] ^= 0x55
			if err := os.WriteFile(deb, data, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		off += 60 + size + size%2
	}
	t.Fatalf("no member %s* in %s", prefix, deb)
}

func packagesIndex(t *testing.T, cfg Config) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cfg.Dir, "dists", cfg.Codename, "main", "binary-amd64", "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Issue 9 item 7: publish verifies each new pool file; a .deb with a
// flipped byte in data.tar.gz (and one cut short) is named and left out
// of the index, and the good one is published.
func TestIssue9Item7PublishLeavesOutCorruptDeb(t *testing.T) {
	repo := t.TempDir()
	fileDeb(t, repo, "good")
	flipped := fileDeb(t, repo, "flipped")
	flipInMember(t, flipped, "data.tar")
	short := fileDeb(t, repo, "short")
	data, _ := os.ReadFile(short)
	os.WriteFile(short, data[:len(data)-200], 0o644)
	cfg := testConfig(t, repo)
	err := Publish(cfg)
	var bad *BadPoolError
	if !errors.As(err, &bad) {
		t.Fatalf("publish of a corrupt pool: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"pool/main/f/flipped/flipped_1.0-1_all.deb left out of the index: data.tar.gz", "pool/main/s/short/short_1.0-1_all.deb left out of the index"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "good") {
		t.Errorf("the good package is named:\n%s", msg)
	}
	idx := packagesIndex(t, cfg)
	if !strings.Contains(idx, "Package: good\n") || strings.Contains(idx, "Package: flipped") || strings.Contains(idx, "Package: short") {
		t.Errorf("index:\n%s", idx)
	}
	if err := VerifyDeb(filepath.Join(repo, "pool/main/g/good/good_1.0-1_all.deb")); err != nil {
		t.Errorf("good package: %v", err)
	}
}

// Item 7: a control.tar that is corrupt, and a data file that does not
// match md5sums, are both caught by VerifyDeb.
func TestIssue9Item7VerifyDebCatchesControlAndMember(t *testing.T) {
	repo := t.TempDir()
	ctl := fileDeb(t, repo, "ctl")
	flipInMember(t, ctl, "control.tar")
	if err := VerifyDeb(ctl); err == nil {
		t.Error("a flipped byte in control.tar passed")
	}
	notDeb := filepath.Join(t.TempDir(), "x.deb")
	os.WriteFile(notDeb, []byte("!<arch>\n"), 0o644)
	if err := VerifyDeb(notDeb); err == nil || !strings.Contains(err.Error(), "0 members") {
		t.Errorf("an empty ar archive: %v", err)
	}
}

// Issue 9 item 6: Consistent reports an index that does not match the
// pool, and a missing Packages.xz or Release.gpg; after publish it is nil.
func TestIssue9Item6ConsistentDetectsBrokenRepository(t *testing.T) {
	repo := t.TempDir()
	fileDeb(t, repo, "aa")
	cfg := testConfig(t, repo)
	if err := Consistent(repo, cfg.Codename, cfg.KeyName); err == nil {
		t.Error("an unpublished pool is consistent")
	}
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	if err := Consistent(repo, cfg.Codename, cfg.KeyName); err != nil {
		t.Fatalf("after publish: %v", err)
	}
	dists := filepath.Join(repo, "dists", cfg.Codename)
	for _, tc := range []struct {
		name   string
		break_ func()
		want   string
	}{
		{"Packages.xz deleted", func() { os.Remove(filepath.Join(dists, "main/binary-amd64/Packages.xz")) }, "main/binary-amd64/Packages.xz"},
		{"Release.gpg deleted", func() { os.Remove(filepath.Join(dists, "Release.gpg")) }, "Release.gpg"},
		{"a new pool file", func() { fileDeb(t, repo, "bb") }, "pool/main/b/bb/bb_1.0-1_all.deb is in the pool but not in the index"},
		{"a pool file deleted", func() { os.Remove(filepath.Join(repo, "pool/main/a/aa/aa_1.0-1_all.deb")) }, "pool/main/a/aa/aa_1.0-1_all.deb is in the index but missing from the pool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.break_()
			err := Consistent(repo, cfg.Codename, cfg.KeyName)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want it to name %s", err, tc.want)
			}
			if err := Publish(cfg); err != nil {
				t.Fatal(err)
			}
			if err := Consistent(repo, cfg.Codename, cfg.KeyName); err != nil {
				t.Errorf("after the repairing publish: %v", err)
			}
		})
	}
}
