package buildsite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/hint"
)

// CrossToolchainError is a cross build whose build root lacks the cross
// compiler (a root made from a mirror or by hand without it).
type CrossToolchainError struct{ Component, Arch, Compiler, Root string }

func (e *CrossToolchainError) Error() string {
	return fmt.Sprintf("%s for %s: cross compiler %s not found in the build root %s", e.Component, e.Arch, e.Compiler, e.Root)
}

// Hint names the package that provides it.
func (e *CrossToolchainError) Hint() string {
	return "debforge installs gcc-" + strings.TrimSuffix(e.Compiler, "-gcc") + " into cross build roots: make the root again (debforge root update), " +
		"or restrict the spec with architectures:"
}

// CheckCross refuses, before anything runs, a cross build that compiles
// C in the site's root without the cross compiler. A pure Go cross
// build needs none.
func (s *Site) CheckCross(req builders.Request) error {
	root := s.root
	if !req.IsCross() || !builders.NeedsC(req.Component.Build) {
		return nil
	}
	triplet, err := debian.TripletOf(req.Arch)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root.FS, "usr", "bin", triplet+"-gcc")); err != nil {
		return &CrossToolchainError{Component: req.Component.Name, Arch: req.Arch, Compiler: triplet + "-gcc", Root: root.FS}
	}
	return nil
}

// CrossRunError is a failed cross build on a host that cannot run the
// target's programs: the likely cause when a step runs what the build
// made. Whether one did cannot be known beforehand (runc's post_steps
// only convert Markdown; buildkit's run the binaries through help2man),
// so a cross build is never refused for it up front.
type CrossRunError struct {
	Err       error
	Emulation *sandbox.EmulationError
}

func (e *CrossRunError) Error() string { return e.Err.Error() + "\n(" + e.Emulation.Error() + ")" }
func (e *CrossRunError) Unwrap() error { return e.Err }

// Hint is the emulation's fix, before any hint of the failure itself.
func (e *CrossRunError) Hint() string { return hint.Join(e.Emulation.Hint(), hint.Of(e.Err)) }

// ExplainCross adds to a failed cross build that this host cannot run
// the target's programs, when it cannot.
func ExplainCross(req builders.Request, err error) error {
	if err == nil || !req.IsCross() {
		return err
	}
	q, qerr := debian.QemuOf(req.Arch)
	if qerr != nil {
		return err
	}
	var ee *sandbox.EmulationError
	if errors.As(sandbox.CheckEmulation(req.Arch, q), &ee) {
		return &CrossRunError{Err: err, Emulation: ee}
	}
	return err
}
