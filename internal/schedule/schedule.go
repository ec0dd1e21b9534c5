// Package schedule runs tasks in parallel, each once the tasks it comes
// after have ended: a failed prerequisite skips its dependents, an
// interrupted run starts nothing new.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrSkipped marks a task not run because a prerequisite failed or was
// skipped.
var ErrSkipped = errors.New("skipped")

// ErrCancelled marks a task not run, or stopped, because the run was
// interrupted.
var ErrCancelled = errors.New("cancelled")

// Outcome is how a task ended, as its dependents see it.
type Outcome int

// The outcomes of a task.
const (
	Succeeded Outcome = iota + 1
	Failed
	Skipped
	Cancelled
)

// Task is one unit of work: its name, and the names of the tasks it
// comes after (a name that is not among the tasks is ignored).
type Task struct {
	Name  string
	After []string
}

// Run runs do(i) for each task once the tasks it comes after have ended,
// at most jobs at a time, and returns when every task has ended. do says
// how its task ended. A task is not run, and notRun(i, err, outcome) is
// called instead, when a prerequisite failed or was skipped (Skipped,
// with ErrSkipped naming them) or when ctx was cancelled before it
// started or a prerequisite was cancelled (Cancelled, with ErrCancelled:
// it never ran, so nothing of its own failed).
func Run(ctx context.Context, tasks []Task, jobs int, do func(i int) Outcome, notRun func(i int, err error, o Outcome)) {
	sc := &schedule{done: map[string]chan struct{}{}, state: map[string]Outcome{}}
	for _, t := range tasks {
		sc.done[t.Name] = make(chan struct{})
	}
	sem := make(chan struct{}, max(jobs, 1))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(sc.done[t.Name])
			skip := func(err error, o Outcome) {
				sc.set(t.Name, o)
				notRun(i, err, o)
			}
			if o, err := sc.wait(ctx, t); err != nil {
				skip(err, o)
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				skip(fmt.Errorf("%w: not started", ErrCancelled), Cancelled)
				return
			}
			defer func() { <-sem }()
			// Both cases of the select may have been ready.
			if ctx.Err() != nil {
				skip(fmt.Errorf("%w: not started", ErrCancelled), Cancelled)
				return
			}
			sc.set(t.Name, do(i))
		}()
	}
	wg.Wait()
}

// schedule is what Run's goroutines know of each other: which tasks
// ended (done closes) and how (state).
type schedule struct {
	mu    sync.Mutex
	done  map[string]chan struct{}
	state map[string]Outcome
}

func (sc *schedule) set(name string, o Outcome) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.state[name] = o
}

// wait waits for the tasks of this run that t comes after, and says why
// t must not start (with that outcome), or nil: one of them failed or was
// skipped, or the run is interrupted.
func (sc *schedule) wait(ctx context.Context, t Task) (Outcome, error) {
	var bad []string
	interrupted := false
	for _, d := range t.After {
		ch, in := sc.done[d]
		if !in {
			continue
		}
		<-ch
		sc.mu.Lock()
		switch sc.state[d] {
		case Failed:
			bad = append(bad, d+", which failed")
		case Skipped:
			bad = append(bad, d+", which was skipped")
		case Cancelled:
			interrupted = true
		}
		sc.mu.Unlock()
	}
	if interrupted || ctx.Err() != nil {
		return Cancelled, fmt.Errorf("%w: not started", ErrCancelled)
	}
	if len(bad) > 0 {
		return Skipped, fmt.Errorf("%w: needs %s", ErrSkipped, strings.Join(bad, "; "))
	}
	return Succeeded, nil
}
