package builders

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// A step whose command is not found (exit 127) says so and points at
// build_depends; a step that runs past limits.step_time is stopped and
// names the limit.
func TestStepFailuresNameTheirCause(t *testing.T) {
	err := runStep(context.Background(), execx.OS{}, execx.Cmd{Args: []string{"sh", "-c", "debforge-no-such-command"}}, spec.Limits{}, io.Discard)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(nf.Hint(), "build_depends") {
		t.Errorf("exit 127: %v", err)
	}
	err = runStep(context.Background(), execx.OS{}, execx.Cmd{Args: []string{"sleep", "30"}}, spec.Limits{StepTime: "300ms"}, io.Discard)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "step_time" || !strings.Contains(err.Error(), "limits.step_time (300ms)") {
		t.Errorf("a step past its time: %v", err)
	}
}
