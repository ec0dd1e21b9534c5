package hint

import (
	"errors"
	"fmt"
	"testing"
)

type own struct{}

func (own) Error() string { return "own" }
func (own) Hint() string  { return "own hint" }

// The outermost hint wins through any wrapping; an error without one has
// "", and With adds nothing to nil or with an empty text.
func TestOfFindsTheOutermostHint(t *testing.T) {
	base := errors.New("base")
	for name, c := range map[string]struct {
		err  error
		want string
	}{
		"plain":         {base, ""},
		"with":          {With(base, "do this"), "do this"},
		"wrapped":       {fmt.Errorf("ctx: %w", With(base, "do this")), "do this"},
		"outer wins":    {With(fmt.Errorf("ctx: %w", own{}), "outer"), "outer"},
		"method":        {fmt.Errorf("ctx: %w", own{}), "own hint"},
		"joined":        {errors.Join(base, With(base, "second")), "second"},
		"empty text":    {With(base, ""), ""},
		"nil":           {nil, ""},
		"nil with hint": {With(nil, "x"), ""},
	} {
		if got := Of(c.err); got != c.want {
			t.Errorf("%s: Of = %q, want %q", name, got, c.want)
		}
	}
	if err := With(base, "x"); err.Error() != "base" || !errors.Is(err, base) {
		t.Errorf("With changed the message or lost the cause: %v", err)
	}
}
