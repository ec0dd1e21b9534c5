package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// A cross build's steps that run what it built need binfmt_misc to run the target's
// programs with qemu's interpreter fixed (F) at registration.
func TestCheckEmulation(t *testing.T) {
	old := BinfmtDir
	t.Cleanup(func() { BinfmtDir = old })
	BinfmtDir = t.TempDir()
	want := func(why string) {
		t.Helper()
		err := CheckEmulation("arm64", "aarch64")
		if why == "" {
			if err != nil {
				t.Errorf("CheckEmulation: %v", err)
			}
			return
		}
		e, ok := err.(*EmulationError)
		if !ok || !strings.Contains(e.Error(), why) || !strings.Contains(e.Error(), "this host cannot run arm64 programs: ") || !strings.Contains(e.Hint(), "update-binfmts --enable qemu-aarch64") {
			t.Errorf("CheckEmulation = %v, want an EmulationError saying %q", err, why)
		}
	}
	want("binfmt_misc is not mounted")
	testutil.Must(t, os.WriteFile(filepath.Join(BinfmtDir, "register"), nil, 0o200))
	want("no binfmt_misc entry qemu-aarch64")
	entry := filepath.Join(BinfmtDir, "qemu-aarch64")
	testutil.Must(t, os.WriteFile(entry, []byte("disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n"), 0o644))
	want("is disabled")
	testutil.Must(t, os.WriteFile(entry, []byte("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POC\noffset 0\n"), 0o644))
	want("lacks the F (fix binary) flag")
	testutil.Must(t, os.WriteFile(entry, []byte("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\n"), 0o644))
	want("")
}
