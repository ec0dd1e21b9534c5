//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// binfmtState is what the host has: binfmt_misc mounted, and whether an
// aarch64 interpreter is registered.
func binfmtState() string {
	mounts, _ := os.ReadFile("/proc/self/mounts")
	_, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64")
	return strings.Join([]string{
		"mounted=" + boolStr(strings.Contains(string(mounts), " /proc/sys/fs/binfmt_misc binfmt_misc ")),
		"aarch64=" + boolStr(err == nil)}, " ")
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// An arm64 binary runs here under qemu-user-static through binfmt_misc
// set up by the test, and the host is left as it was; a missing
// interpreter is one clear error.
func TestBinfmtRunsArm64AndRestoresHost(t *testing.T) {
	testutil.RequireTool(t, "go", "file")
	before := binfmtState()
	dir := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"runtime\"\n\nfunc main() { println(\"hello from\", runtime.GOARCH) }\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644))
	bin := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build GOARCH=arm64: %v\n%s", err, out)
	}
	if out := sh(t, "file", "-b", bin); !strings.Contains(out, "ARM aarch64") {
		t.Fatalf("file says %q, want ARM aarch64", out)
	}
	t.Run("run", func(t *testing.T) {
		testutil.Binfmt(t, "arm64")
		out, err := exec.Command(bin).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello from arm64" {
			t.Errorf("arm64 binary under qemu: %q %v", out, err)
		}
	})
	if after := binfmtState(); after != before {
		t.Errorf("host binfmt state changed: before %s, after %s", before, after)
	}
	_, err := testutil.SetupBinfmt(testutil.BinfmtDirs{Conf: t.TempDir(), Proc: "/proc/sys/fs/binfmt_misc"}, "arm64")
	if err == nil || !strings.Contains(err.Error(), "no binfmt interpreter for arm64") || !strings.Contains(err.Error(), "apt-get install qemu-user-static") {
		t.Errorf("missing interpreter: %v", err)
	}
	if after := binfmtState(); after != before {
		t.Errorf("a failed setup changed the host: before %s, after %s", before, after)
	}
}
