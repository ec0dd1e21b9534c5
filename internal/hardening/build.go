package hardening

import (
	"fmt"
	"io"
	"strings"

	"github.com/debforge/debforge/internal/spec"
)

// Error is the ELF files a build staged without a hardening feature it
// requires: a linker feature always, any feature with build.hardening:
// strict.
type Error struct{ Reports []Report }

func (e *Error) Error() string {
	lines := make([]string, len(e.Reports))
	for i, r := range e.Reports {
		lines[i] = r.String()
	}
	return strings.Join(lines, "\n")
}

// Hint says where the flags go.
func (e *Error) Hint() string {
	return `a Makefile that sets its own CFLAGS/LDFLAGS ignores the environment: hand it the flags with build.vars: {CFLAGS: "{{.CFLAGS}} {{.CPPFLAGS}}", LDFLAGS: "{{.LDFLAGS}}"}; if the binaries really may lack it, set hardening: warn with hardening_reason: <why>`
}

// CheckBuild checks the ELF files a C build (make, autotools,
// script) staged, as hardening-check would. A file that lacks a linker
// feature (PIE, relro, bindnow) fails the build: the flags asked for them,
// so a Makefile that sets its own dropped them. One that lacks only stack
// protector or fortify is a warning: a program without arrays or
// fortifiable calls lacks them too. build.hardening: strict fails on
// every feature, warn (with a reason) only warns. Go builds are left
// alone: the Go toolchain decides their hardening.
func CheckBuild(c *spec.Component, stageDir string, log io.Writer) ([]string, error) {
	if c.Build.Kind == "go" {
		return nil, nil
	}
	reports, err := CheckTree(stageDir)
	if err != nil || len(reports) == 0 {
		return nil, err
	}
	var failing []Report
	for _, r := range reports {
		if c.Build.Hardening == "strict" || (c.Build.Hardening == "" && lacksLinkerFeature(r)) {
			failing = append(failing, r)
		}
	}
	if len(failing) > 0 {
		return nil, &Error{Reports: failing}
	}
	warnings := make([]string, len(reports))
	for i, r := range reports {
		warnings[i] = r.String() + " (set build.hardening: strict to make this an error)"
		fmt.Fprintf(log, "warning: %s\n", warnings[i])
	}
	return warnings, nil
}

// lacksLinkerFeature says whether r misses a feature only the link
// decides: no program legitimately lacks it.
func lacksLinkerFeature(r Report) bool {
	for _, f := range r.Missing {
		if f == PIE || f == RELRO || f == BindNow {
			return true
		}
	}
	return false
}
