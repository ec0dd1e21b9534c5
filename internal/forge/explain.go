package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/buildkey"
	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/packaging"
)

// keyRecordPath is where the key record of component name is kept.
func (f *Forge) keyRecordPath(name string) string {
	return filepath.Join(f.opts.CacheDir, "keys", f.logName(name)+".json")
}

// Explanation says whether a build of Component would be a cache hit,
// and if not, which inputs of its key changed since its last build.
type Explanation struct {
	Component string
	Key       string
	Cached    bool
	// Changed names the inputs that differ from the last build's
	// (debforge, toolchain, target, root, repo, epoch, spec, version,
	// source, after, history); Previous is false when no build of the
	// component was recorded.
	Changed  []string
	Previous bool
	Err      error
}

// Explain finds the cache key each named component (and the components
// they come after) would be built with now, without building: it
// fetches, finds the build roots and reads the changelog history as a
// build does, and compares the key's inputs with the last build's.
func (f *Forge) Explain(ctx context.Context, names []string) ([]Explanation, error) {
	if len(f.set.Repo.TargetList) > 0 && !f.oneTarget {
		targets, err := f.runTargets()
		if err != nil {
			return nil, err
		}
		comps, err := buildorder.Select(f.set, names, f.opts.Except)
		if err != nil {
			return nil, err
		}
		var out []Explanation
		// As a build does: an Architecture: all package is built once
		// per release, for the release's first target.
		releases := map[string]bool{}
		for _, t := range targets {
			g, _ := f.forTarget(t, releases[t.Release])
			releases[t.Release] = true
			tnames := g.namesOf(comps)
			if len(tnames) == 0 {
				continue
			}
			ex, err := g.Explain(ctx, tnames)
			for i := range ex {
				ex[i].Component += "@" + t.String()
			}
			out = append(out, ex...)
			if err != nil {
				return out, fmt.Errorf("%s: %w", t, err)
			}
		}
		return out, nil
	}
	return f.explainTarget(ctx, names)
}

// explainTarget is Explain for one target (or none).
func (f *Forge) explainTarget(ctx context.Context, names []string) ([]Explanation, error) {
	comps, be, end, err := f.startRun(ctx, names)
	if err != nil {
		return nil, err
	}
	defer end()
	env := newKeyEnv(be, f.set.Repo, f.digests())
	keys := map[string]string{}
	var out []Explanation
	for _, c := range comps {
		var depKeys []string
		for _, d := range c.After {
			depKeys = append(depKeys, keys[d])
		}
		j := &buildJob{c: c, be: be, env: env, log: io.Discard}
		ex := Explanation{Component: c.Name}
		if ex.Err = f.findInputs(ctx, j, depKeys, &Result{}); ex.Err == nil {
			keys[c.Name] = j.key
			f.explainOne(&ex, j)
		}
		out = append(out, ex)
	}
	return out, errors.Join(explainErrs(out)...)
}

// explainOne fills ex from the job's key and inputs and the last record.
func (f *Forge) explainOne(ex *Explanation, j *buildJob) {
	ex.Key = j.key
	_, err := os.Stat(filepath.Join(f.opts.CacheDir, "debs", j.key, packaging.FileName(j.c, f.opts.Arch)))
	ex.Cached = err == nil
	rec, ok := buildkey.ReadRecord(f.keyRecordPath(j.c.Name))
	if !ok {
		return
	}
	ex.Previous = true
	was := map[string]string{}
	for _, i := range rec.Inputs {
		was[i.Name] = i.Text
	}
	for _, i := range j.inputs {
		if t, ok := was[i.Name]; !ok || t != i.Text {
			ex.Changed = append(ex.Changed, i.Name)
		}
	}
}

func explainErrs(ex []Explanation) []error {
	var errs []error
	for _, e := range ex {
		if e.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Component, e.Err))
		}
	}
	return errs
}
