// Package usage marks a mistake in what the user asked for (an unknown
// name, a cycle, a bad flag value), found before anything was built or
// written: the CLI exits 2 for it, where a failed build exits 1.
package usage

import "github.com/debforge/debforge/internal/hint"

// Error is a usage error.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New returns err as a usage error whose hint is fix.
func New(err error, fix string) error { return &Error{Err: hint.With(err, fix)} }
