package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BinfmtDir is where the kernel's binfmt_misc lists its interpreters.
var BinfmtDir = "/proc/sys/fs/binfmt_misc"

// EmulationError means this host cannot run programs of a cross build's
// architecture inside the sandbox. Compiling never needs that; a step
// that runs what the build made (help2man documenting a binary, a code
// generator built from the source) does.
type EmulationError struct {
	Arch, Qemu, Why string
}

func (e *EmulationError) Error() string {
	return fmt.Sprintf("this host cannot run %s programs: %s", e.Arch, e.Why)
}

// Hint names the fix.
func (e *EmulationError) Hint() string {
	return "if a step runs what the build made (help2man, a generator), install qemu-user-static and binfmt-support and register the interpreter " +
		"(update-binfmts --enable qemu-" + e.Qemu + "); or restrict the spec with architectures:"
}

// CheckEmulation tells whether programs of another architecture run
// inside the sandbox: binfmt_misc must have qemu's interpreter for it
// enabled with the F flag (the kernel opens the interpreter when it is
// registered, so it works in a root that does not contain it).
func CheckEmulation(arch, qemu string) error {
	e := &EmulationError{Arch: arch, Qemu: qemu}
	if _, err := os.Stat(filepath.Join(BinfmtDir, "register")); err != nil {
		e.Why = "binfmt_misc is not mounted on " + BinfmtDir
		return e
	}
	data, err := os.ReadFile(filepath.Join(BinfmtDir, "qemu-"+qemu))
	if err != nil {
		e.Why = "no binfmt_misc entry qemu-" + qemu
		return e
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "enabled" {
		e.Why = "the binfmt_misc entry qemu-" + qemu + " is disabled"
		return e
	}
	for _, l := range lines {
		if flags, ok := strings.CutPrefix(l, "flags: "); ok && strings.Contains(flags, "F") {
			return nil
		}
	}
	e.Why = "the binfmt_misc entry qemu-" + qemu + " lacks the F (fix binary) flag, so its interpreter is not found inside a build root"
	return e
}
