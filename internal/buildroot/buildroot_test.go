package buildroot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPackagesOnlyInstalled(t *testing.T) {
	fs := t.TempDir()
	os.MkdirAll(filepath.Join(fs, "var/lib/dpkg"), 0o755)
	status := "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\nDescription: x\n more\n\n" +
		"Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n\n" +
		"Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4\n"
	os.WriteFile(filepath.Join(fs, "var/lib/dpkg/status"), []byte(status), 0o644)
	pkgs, err := ReadPackages(fs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "base-files:amd64=12.4 libc6:amd64=2.36-9" {
		t.Errorf("packages = %v", got)
	}
}

func TestSourcesParsing(t *testing.T) {
	deb822 := "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
		"Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n" +
		"Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n"
	got := parseDeb822Sources(deb822)
	if len(got) != 2 || got[0] != (aptEntry{"http://mirror.example/debian", "bookworm"}) || got[1].suite != "bookworm-updates" {
		t.Errorf("deb822 = %v", got)
	}
	one := parseOneLine("# c\ndeb [signed-by=/k.gpg arch=amd64] http://m.example/debian bookworm main\ndeb-src http://x bookworm main\n")
	if len(one) != 1 || one[0] != (aptEntry{"http://m.example/debian", "bookworm"}) {
		t.Errorf("one-line = %v", one)
	}
}

func TestParseTarget(t *testing.T) {
	if _, err := ParseTarget("nosuchrelease/amd64", ""); err == nil || !strings.Contains(err.Error(), "unknown Debian release") {
		t.Errorf("unknown release: %v", err)
	}
	if _, err := ParseTarget("../etc/amd64", ""); err == nil {
		t.Error("a path as release was accepted")
	}
	if _, err := os.Stat(filepath.Join(DebootstrapScripts, "bookworm")); err == nil {
		tg, err := ParseTarget("bookworm/arm64", "")
		if err != nil || tg.String() != "bookworm/arm64" {
			t.Errorf("bookworm/arm64 = %v %v", tg, err)
		}
		if _, err := ParseTarget("bookworm/arm64", "amd64"); err == nil {
			t.Error("--target and --arch disagreeing was accepted")
		}
	}
}
