package schedule

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// A task after a failed one is skipped with the failure named, a task
// after that skipped one is skipped naming it, and an independent task
// runs; each task runs after the tasks it comes after.
func TestFailureSkipsDependentsOnly(t *testing.T) {
	tasks := []Task{{Name: "aa"}, {Name: "bb", After: []string{"aa"}}, {Name: "cc", After: []string{"bb"}}, {Name: "dd"}, {Name: "ee", After: []string{"dd", "zz"}}}
	var mu sync.Mutex
	var ran []string
	errs := map[string]error{}
	Run(context.Background(), tasks, 2, func(i int) Outcome {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, tasks[i].Name)
		if tasks[i].Name == "aa" {
			return Failed
		}
		return Succeeded
	}, func(i int, err error, _ Outcome) {
		mu.Lock()
		defer mu.Unlock()
		errs[tasks[i].Name] = err
	})
	if !errors.Is(errs["bb"], ErrSkipped) || !strings.Contains(errs["bb"].Error(), "needs aa, which failed") {
		t.Errorf("bb: %v", errs["bb"])
	}
	if !errors.Is(errs["cc"], ErrSkipped) || !strings.Contains(errs["cc"].Error(), "needs bb, which was skipped") {
		t.Errorf("cc: %v", errs["cc"])
	}
	got := strings.Join(ran, " ")
	if len(ran) != 3 || !strings.Contains(got, "aa") || !strings.Contains(got, "dd") || strings.Index(got, "ee") < strings.Index(got, "dd") {
		t.Errorf("ran %q, want aa, dd and then ee", got)
	}
}

// Nothing starts once the run is cancelled.
func TestCancelledRunStartsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var started []int
	var cancelled int
	Run(ctx, []Task{{Name: "aa"}, {Name: "bb", After: []string{"aa"}}}, 1, func(i int) Outcome {
		started = append(started, i)
		return Succeeded
	}, func(_ int, err error, o Outcome) {
		if errors.Is(err, ErrCancelled) && o == Cancelled {
			cancelled++
		}
	})
	if len(started) != 0 || cancelled != 2 {
		t.Errorf("started %v, %d cancelled; want none started, both cancelled", started, cancelled)
	}
}
