package tracking

import (
	"context"
	"sync"

	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/upstream"
)

// Outdated is one component's current and newest upstream version.
type Outdated struct {
	Component string `json:"component"`
	Current   string `json:"current"`
	Newest    string `json:"newest,omitempty"`
	// Status is current, outdated, untracked (no upstream to ask: a
	// meta-package, a dir or a tarball source) or error.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Outdated statuses.
const (
	StatusCurrent   = "current"
	StatusOutdated  = "outdated"
	StatusUntracked = "untracked"
	StatusError     = "error"
)

// Outdated asks every component's upstream, all at once, for its newest
// release. An upstream that does not answer is reported in its row; the
// others are still reported.
func (f *Tracker) Outdated(ctx context.Context, names []string) ([]Outdated, error) {
	comps, err := buildorder.Select(f.set, names, f.except)
	if err != nil {
		return nil, err
	}
	k := f.checker
	out := make([]Outdated, len(comps))
	var wg sync.WaitGroup
	for i, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = outdatedOne(ctx, k, c)
		}()
	}
	wg.Wait()
	return out, nil
}

func outdatedOne(ctx context.Context, k *upstream.Checker, c *spec.Component) Outdated {
	o := Outdated{Component: c.Name, Current: c.Version}
	if !upstream.Tracked(c) {
		o.Status = StatusUntracked
		return o
	}
	r, err := k.Newest(ctx, c)
	switch {
	case err != nil:
		o.Status, o.Error = StatusError, err.Error()
	case upstream.IsNewer(r.Version, c.Version):
		o.Status, o.Newest = StatusOutdated, r.Version
	default:
		o.Status, o.Newest = StatusCurrent, r.Version
	}
	return o
}
