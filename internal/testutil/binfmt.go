package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/debian"
)

// BinfmtDirs are where Binfmt looks: the binfmt.d entries
// qemu-user-static ships, and the kernel's binfmt_misc mount point.
type BinfmtDirs struct{ Conf, Proc string }

// DefaultBinfmtDirs are the host's.
var DefaultBinfmtDirs = BinfmtDirs{Conf: "/usr/lib/binfmt.d", Proc: "/proc/sys/fs/binfmt_misc"}

// Binfmt makes binaries of the Debian architecture arch run on this host
// under qemu-user-static through binfmt_misc until the test ends, and
// then leaves the host as it was: binfmt_misc is mounted only if it was
// not, and the interpreter registered only if it was not, and Cleanup
// undoes exactly that. Without qemu-user-static the test fails when
// DEBFORGE_REQUIRE_TOOLS=1 and is skipped otherwise.
func Binfmt(t *testing.T, arch string) {
	t.Helper()
	undo, err := SetupBinfmt(DefaultBinfmtDirs, arch)
	if err != nil {
		if _, missing := err.(*MissingInterpreterError); missing && os.Getenv("DEBFORGE_REQUIRE_TOOLS") != "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := undo(); err != nil {
			t.Errorf("binfmt cleanup: %v", err)
		}
	})
}

// MissingInterpreterError is an architecture with no qemu-user-static
// interpreter installed.
type MissingInterpreterError struct{ Arch, Conf string }

func (e *MissingInterpreterError) Error() string {
	return fmt.Sprintf("no binfmt interpreter for %s: %s is missing (hint: apt-get install qemu-user-static, as .ci/run does)", e.Arch, e.Conf)
}

// SetupBinfmt registers arch's interpreter with binfmt_misc under d
// (mounting it if needed) and returns how to undo what it did.
func SetupBinfmt(d BinfmtDirs, arch string) (undo func() error, err error) {
	q, err := debian.QemuOf(arch)
	if err != nil {
		return nil, fmt.Errorf("binfmt: %w", err)
	}
	conf := filepath.Join(d.Conf, "qemu-"+q+".conf")
	line, err := os.ReadFile(conf)
	if err != nil {
		return nil, &MissingInterpreterError{Arch: arch, Conf: conf}
	}
	fields := strings.Split(strings.TrimSpace(string(line)), ":")
	if len(fields) < 7 {
		return nil, fmt.Errorf("binfmt: %s: not a binfmt_misc entry", conf)
	}
	if _, err := os.Stat(fields[6]); err != nil {
		return nil, &MissingInterpreterError{Arch: arch, Conf: fields[6]}
	}
	var steps []func() error
	undo = func() error {
		var first error
		for i := len(steps) - 1; i >= 0; i-- {
			if err := steps[i](); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if _, err := os.Stat(filepath.Join(d.Proc, "register")); err != nil {
		if out, err := exec.Command("mount", "-t", "binfmt_misc", "binfmt_misc", d.Proc).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("binfmt: mount binfmt_misc on %s: %v: %s", d.Proc, err, out)
		}
		steps = append(steps, func() error {
			if out, err := exec.Command("umount", d.Proc).CombinedOutput(); err != nil {
				return fmt.Errorf("umount %s: %v: %s", d.Proc, err, out)
			}
			return nil
		})
	}
	entry := filepath.Join(d.Proc, fields[1])
	if _, err := os.Stat(entry); err == nil {
		return undo, nil // already registered by the host: leave it
	}
	if err := os.WriteFile(filepath.Join(d.Proc, "register"), []byte(strings.TrimSpace(string(line))), 0); err != nil {
		undo()
		return nil, fmt.Errorf("binfmt: register %s: %w", fields[1], err)
	}
	steps = append(steps, func() error { return os.WriteFile(entry, []byte("-1"), 0) })
	return undo, nil
}
