package aptrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blakesmith/ar"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// fileDeb builds a package with one real file in it and puts it into the
// pool.
func fileDeb(t *testing.T, repo, name string) string {
	t.Helper()
	work := t.TempDir()
	stage := filepath.Join(work, "stage")
	testutil.Must(t, os.MkdirAll(filepath.Join(stage, "usr/share", name), 0o755))
	// Incompressible enough that a flipped byte lands in deflate data.
	var body bytes.Buffer
	for i := 0; i < 4000; i++ {
		body.WriteString(strconv.Itoa(i*7919%10007) + " ")
	}
	testutil.Must(t, os.WriteFile(filepath.Join(stage, "usr/share", name, "data.txt"), body.Bytes(), 0o644))
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
func TestPublishLeavesOutCorruptDeb(t *testing.T) {
	repo := t.TempDir()
	fileDeb(t, repo, "good")
	flipped := fileDeb(t, repo, "flipped")
	flipInMember(t, flipped, "data.tar")
	short := fileDeb(t, repo, "short")
	data, _ := os.ReadFile(short)
	testutil.Must(t, os.WriteFile(short, data[:len(data)-200], 0o644))
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

// Item 7: a control.tar that is corrupt, and an ar archive without
// members, are both caught by VerifyDeb (md5sums: see
// TestVerifyDebChecksMd5sums).
func TestVerifyDebCatchesControlAndMember(t *testing.T) {
	repo := t.TempDir()
	ctl := fileDeb(t, repo, "ctl")
	flipInMember(t, ctl, "control.tar")
	if err := VerifyDeb(ctl); err == nil {
		t.Error("a flipped byte in control.tar passed")
	}
	notDeb := filepath.Join(t.TempDir(), "x.deb")
	testutil.Must(t, os.WriteFile(notDeb, []byte("!<arch>\n"), 0o644))
	if err := VerifyDeb(notDeb); err == nil || !strings.Contains(err.Error(), "0 members") {
		t.Errorf("an empty ar archive: %v", err)
	}
}

// Issue 9 item 6: Consistent reports an index that does not match the
// pool, and a missing Packages.xz or Release.gpg; after publish it is nil.
func TestConsistentDetectsBrokenRepository(t *testing.T) {
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

// handDeb writes a .deb made by hand: data.tar.gz holds files (path →
// contents) and control.tar.gz a control file and the given md5sums
// (and conffiles, when set). Every member decompresses cleanly, so
// only md5sums can tell what is wrong.
func handDeb(t *testing.T, path string, files map[string]string, md5sums, conffiles string) {
	t.Helper()
	tgz := func(entries map[string]string) []byte {
		var buf bytes.Buffer
		z := gzip.NewWriter(&buf)
		tw := tar.NewWriter(z)
		names := make([]string, 0, len(entries))
		for n := range entries {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			body := entries[n]
			if err := tw.WriteHeader(&tar.Header{Name: "./" + n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			tw.Write([]byte(body))
		}
		tw.Close()
		z.Close()
		return buf.Bytes()
	}
	control := map[string]string{"control": "Package: hand\nVersion: 1.0-1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: s\n d\n",
		"md5sums": md5sums}
	if conffiles != "" {
		control["conffiles"] = conffiles
	}
	var deb bytes.Buffer
	w := ar.NewWriter(&deb)
	w.WriteGlobalHeader()
	for _, m := range []struct {
		name string
		data []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", tgz(control)}, {"data.tar.gz", tgz(files)}} {
		w.WriteHeader(&ar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data))})
		w.Write(m.data)
	}
	if err := os.WriteFile(path, deb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func md5Line(body, file string) string {
	return fmt.Sprintf("%x  %s\n", md5.Sum([]byte(body)), file)
}

// Issue 9 item 7: md5sums is checked against data.tar, not just read. A
// data.tar that decompresses cleanly but holds a file that differs from
// its md5sum, a file md5sums does not list, or lacks a file md5sums
// lists, is refused with a message naming the file; publish leaves it
// out of the index. A conffile may be missing from md5sums (dh_md5sums
// leaves them out).
func TestVerifyDebChecksMd5sums(t *testing.T) {
	const bin, doc = "usr/bin/hand", "usr/share/doc/hand/README"
	files := map[string]string{bin: "#!/bin/sh\necho hand\n", doc: "read me\n"}
	good := md5Line(files[bin], bin) + md5Line(files[doc], doc)
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		files     map[string]string
		md5sums   string
		conffiles string
		want      string // "" = accepted
	}{
		{"consistent", files, good, "", ""},
		{"a file differs from its md5sum", map[string]string{bin: "#!/bin/sh\necho evil\n", doc: files[doc]}, good, "",
			"data.tar.gz: usr/bin/hand does not match its md5sum"},
		{"a file missing from md5sums", map[string]string{bin: files[bin], doc: files[doc], "usr/bin/extra": "x\n"}, good, "",
			"data.tar.gz: usr/bin/extra is not in md5sums"},
		{"md5sums lists an absent file", map[string]string{bin: files[bin]}, good, "",
			"data.tar.gz: md5sums lists usr/share/doc/hand/README, which data.tar lacks"},
		{"a conffile not in md5sums", map[string]string{bin: files[bin], doc: files[doc], "etc/hand.conf": "a=1\n"}, good, "/etc/hand.conf\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deb := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".deb")
			handDeb(t, deb, tc.files, tc.md5sums, tc.conffiles)
			err := VerifyDeb(deb)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	// Through publish: the bad one is named and left out, the good one indexed.
	repo := t.TempDir()
	fileDeb(t, repo, "good")
	bad := filepath.Join(repo, "pool/main/h/hand/hand_1.0-1_all.deb")
	testutil.Must(t, os.MkdirAll(filepath.Dir(bad), 0o755))
	handDeb(t, bad, map[string]string{bin: "#!/bin/sh\necho evil\n", doc: files[doc]}, good, "")
	cfg := testConfig(t, repo)
	err := Publish(cfg)
	var bpe *BadPoolError
	if !errors.As(err, &bpe) || !strings.Contains(err.Error(), "pool/main/h/hand/hand_1.0-1_all.deb left out of the index: data.tar.gz: usr/bin/hand does not match its md5sum") {
		t.Errorf("publish: %v", err)
	}
	if idx := packagesIndex(t, cfg); !strings.Contains(idx, "Package: good\n") || strings.Contains(idx, "Package: hand") {
		t.Errorf("index:\n%s", idx)
	}
}
