package packaging

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WriteBuildInfo writes every field deb-buildinfo(5) asks for, in its
// order: Build-Date is SOURCE_DATE_EPOCH (the time given), the checksum
// and size are the .deb's, the installed packages are comma-separated
// continuation lines, the environment is quoted, and the X- fields come
// last, sorted.
func TestWriteBuildInfoFields(t *testing.T) {
	deb := filepath.Join(t.TempDir(), "hello_1.0-1_amd64.deb")
	body := []byte("not really a deb")
	if err := os.WriteFile(deb, body, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	epoch := time.Unix(1767225600, 0).In(time.FixedZone("CET", 3600)) // printed in UTC
	err := WriteBuildInfo(deb, BuildInfo{
		Source: "hello-src", Binary: "hello", Architecture: "amd64", Version: "1:1.0-1", BuildArch: "amd64",
		Date:        epoch,
		Installed:   []string{"dpkg (= 1.21.22)", "libc6 (= 2.36-9+deb12u9)", "libfoo-dev:arm64 (= 1.2-3)"},
		Environment: []string{"SOURCE_DATE_EPOCH=1767225600", `CFLAGS=-O2 -g "quoted"`, "EMPTY="},
		Extra:       map[string]string{"X-Debforge-Target": "bookworm/amd64", "X-Debforge-Root-Key": "0123abcd"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(BuildInfoPath(deb))
	if err != nil {
		t.Fatal(err)
	}
	want := `Format: 1.0
Source: hello-src
Binary: hello
Architecture: amd64
Version: 1:1.0-1
Checksums-Sha256:
 ` + hex.EncodeToString(sum[:]) + ` 16 hello_1.0-1_amd64.deb
Build-Architecture: amd64
Build-Date: Thu, 01 Jan 2026 00:00:00 +0000
Build-Path: /build/src
Installed-Build-Depends:
 dpkg (= 1.21.22),
 libc6 (= 2.36-9+deb12u9),
 libfoo-dev:arm64 (= 1.2-3)
Environment:
 SOURCE_DATE_EPOCH="1767225600"
 CFLAGS="-O2 -g \"quoted\""
 EMPTY=""
X-Debforge-Root-Key: 0123abcd
X-Debforge-Target: bookworm/amd64
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if filepath.Base(BuildInfoPath(deb)) != "hello_1.0-1_amd64.buildinfo" {
		t.Errorf("BuildInfoPath = %s", BuildInfoPath(deb))
	}
}
