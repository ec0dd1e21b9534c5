// Package hint is the one way an error carries what to do about it: any
// error type may have a Hint() method, With attaches one to an error
// that has none, and Of finds it again through wrapping. The CLI prints
// it as the "hint:" line under the "error:" line.
package hint

import (
	"errors"
	"strings"
)

// hinted is an error with the one line that says what to do next.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// Hint says what to do about the error.
func (h *hinted) Hint() string { return h.hint }

// With returns err with text as its hint; an empty text adds nothing.
func With(err error, text string) error {
	if err == nil || text == "" {
		return err
	}
	return &hinted{err, text}
}

// Of returns the hint of the outermost error in err's chain that has
// one, or "".
func Of(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// Join puts each non-empty hint on its own line.
func Join(hints ...string) string {
	var out []string
	for _, h := range hints {
		if h != "" {
			out = append(out, h)
		}
	}
	return strings.Join(out, "\n")
}
