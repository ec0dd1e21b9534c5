package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/tracking"
)

func newUpdateCmd(g *globals) *cobra.Command {
	var dryRun bool
	var bf buildFlags
	cmd := &cobra.Command{
		Use:   "update [NAME...|all]",
		Short: "Bump, build, test and promote: the unattended loop",
		Long: `Run outdated, bump, build, test and promote for the named components
(default: all), one after the other:

  - every tracked component with a newer upstream release is bumped
    (its spec rewritten, the new source verified; see bump);
  - build builds what changed, bumped or edited, into the staging suite;
  - test runs the tests of what is published there;
  - promote moves what passed and keeps the release installable into
    the release's suite (with staging: true in debforge.yaml; without
    it, build publishes straight into the release, and this step is
    left out).

Prints one line per thing done on stdout: outdated, bumped, built,
tested, promoted or held (with why), and error. With --dry-run it
asks upstreams and prints the plan (what would be bumped, which
packages would be built and why, what would be tested and promoted),
and changes nothing.

Exit codes: 0 nothing to do or everything promoted, 10 something stayed
in staging (or, without staging, a test failed), 1 an error (an
upstream that could not be asked, a bump or a build that failed).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			u := &updater{g: g, bf: &bf, names: args, dryRun: dryRun, tw: tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)}
			err := u.run(cmd.Context())
			u.tw.Flush()
			if err != nil {
				return runError(err)
			}
			switch {
			case u.failed:
				return &exitError{code: ExitFailed, err: errors.New("update did not finish every step"), hint: "the rows above marked error say what failed"}
			case u.held:
				return &exitError{code: ExitHeld}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&bf.except, "except", nil, "leave these components out")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "ask upstreams and print the plan; change nothing")
	return cmd
}

// updater runs update's steps and prints a row for everything done.
type updater struct {
	g      *globals
	bf     *buildFlags
	names  []string
	dryRun bool
	tw     *tabwriter.Writer
	// failed is set by a step that went wrong, held by a version that
	// stayed in staging.
	failed, held bool
}

func (u *updater) row(action, component, detail string) {
	fmt.Fprintf(u.tw, "%s\t%s\t%s\n", action, component, detail)
}

func (u *updater) run(ctx context.Context) error {
	f, p, err := u.g.newRun(u.bf)
	if err != nil {
		return err
	}
	bumped, err := u.bump(ctx, f)
	if err != nil {
		return err
	}
	if bumped && !u.dryRun {
		// The specs changed under the forge that read them.
		if f, p, err = u.g.newRun(u.bf); err != nil {
			return err
		}
	}
	if u.dryRun {
		return u.plan(ctx, f)
	}
	results, err := f.Build(ctx, u.names)
	p.summary(results)
	for _, r := range results {
		u.builtRow(r)
	}
	if err != nil {
		u.failed = true
		if ctx.Err() != nil {
			return err
		}
	}
	return u.testAndPromote(ctx, f)
}

// bump bumps every outdated component; it reports whether one was.
func (u *updater) bump(ctx context.Context, f *forge.Forge) (bool, error) {
	t := tracking.For(f)
	rows, err := t.Outdated(ctx, u.names)
	if err != nil {
		return false, err
	}
	bumped := false
	for _, r := range rows {
		switch r.Status {
		case tracking.StatusError:
			u.failed = true
			u.row("error", r.Component, "outdated: "+r.Error)
		case tracking.StatusOutdated:
			u.row("outdated", r.Component, r.Current+" -> "+r.Newest)
			if u.dryRun {
				u.row("would bump", r.Component, r.Current+" -> "+r.Newest)
				continue
			}
			b, err := t.Bump(ctx, r.Component, tracking.BumpOptions{Version: r.Newest}, io.Discard)
			if err != nil && !errors.Is(err, tracking.ErrCurrent) {
				u.failed = true
				u.row("error", r.Component, "bump: "+firstLine(err))
				continue
			}
			if err == nil {
				bumped = true
				u.row("bumped", r.Component, fmt.Sprintf("%s -> %s (%s)", b.From, b.To, b.File))
			}
		}
	}
	return bumped, nil
}

func (u *updater) builtRow(r forge.Result) {
	switch {
	case r.Err != nil:
		u.row("error", r.Component, "build: "+firstLine(r.Err))
	case !r.CacheHit:
		u.row("built", r.Component, r.Version)
	}
}

// testAndPromote tests what is published and promotes what passed.
func (u *updater) testAndPromote(ctx context.Context, f *forge.Forge) error {
	var tested []forge.TestOutcome
	var err error
	if names, any := withTests(f, u.names); any {
		tested, err = f.Test(ctx, names, u.g.stderr)
	}
	for _, o := range tested {
		switch {
		case o.Err != nil:
			u.row("error", o.Component, o.Target+": test: "+firstLine(o.Err))
		case !o.Result.Cached:
			u.row("tested", o.Component, fmt.Sprintf("%s %s: %s", o.Target, o.Result.Version, withReason(string(o.Result.Status), o.Result.Reason)))
		}
	}
	if err != nil {
		return err
	}
	if !f.Staging() {
		u.held = forge.TestFailed(tested)
		return nil
	}
	promoted, err := f.Promote(ctx, u.names, u.g.stderr)
	for _, o := range promoted {
		switch o.Status {
		case forge.Promoted:
			u.row("promoted", o.Component, o.Release+" "+o.Version)
		case forge.Held:
			u.held = true
			u.row("held", o.Component, o.Release+" "+o.Version+": "+o.Reason)
		}
	}
	return err
}

// withTests narrows named components to those with tests (test refuses
// a named one without), and says whether any is left; no names, or
// "all", is every component with tests.
func withTests(f *forge.Forge, names []string) ([]string, bool) {
	if len(names) == 0 || slices.Contains(names, "all") {
		return names, true
	}
	var out []string
	for _, n := range names {
		if c := f.Set().Get(n); c != nil && len(c.Tests) > 0 {
			out = append(out, n)
		}
	}
	return out, len(out) > 0
}

// plan prints what a run would build, test and promote.
func (u *updater) plan(ctx context.Context, f *forge.Forge) error {
	ex, err := f.Explain(ctx, u.names)
	for _, e := range ex {
		switch {
		case e.Err != nil:
			u.row("would build", e.Component, "unknown: "+firstLine(e.Err))
		case !e.Cached && len(e.Changed) > 0:
			u.row("would build", e.Component, "changed: "+strings.Join(e.Changed, ", "))
		case !e.Cached:
			u.row("would build", e.Component, "not built yet")
		}
	}
	if err != nil {
		return err
	}
	step := "then test every component with tests"
	if f.Staging() {
		step += ", and promote what passed from staging"
	}
	u.row("would", "all", step)
	return nil
}
