package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/forge"
)

// ExitHeld is promote's answer "something stayed in staging".
const ExitHeld = 10

func newPromoteCmd(g *globals) *cobra.Command {
	var except []string
	cmd := &cobra.Command{
		Use:   "promote [NAME...|all]",
		Short: "Move tested versions from each release's staging suite into the release",
		Long: `With staging: true in debforge.yaml, build publishes into a staging
suite per release (dists/<release>-staging), and hosts follow the
release's own suite (dists/<release>). promote moves the named
components' versions (default: all) from staging into the release when

  - their tests passed (debforge test) on every target of the release
    they are built for ("not run" is not a pass), and
  - every package of the release's suite, with them in it, still
    installs on each of its targets: apt's resolver, on a clean root of
    the target, with the release's own packages.

A version that does not stay in staging, and the release keeps what it
had. Prints one line per component and release on stdout: promoted,
stable (promoted before), or held and why (the test that failed and its
log, or the unmet relation apt named). Every promotion is recorded in
OUT/repo/promotions.json, which the release's suite is published from.

Exit codes: 0 everything is promoted (or was), 10 something stayed in
staging, 1 an error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := g.forgeOptions()
			opts.Except = except
			f, err := newForge(opts)
			if err != nil {
				return err
			}
			outcomes, err := f.Promote(cmd.Context(), args, g.stderr)
			if len(outcomes) > 0 {
				printPromoteOutcomes(g, outcomes)
			}
			if err != nil {
				return runError(err)
			}
			if forge.PromoteHeld(outcomes) {
				return &exitError{code: ExitHeld}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&except, "except", nil, "leave these components out")
	return cmd
}

// printPromoteOutcomes prints one row per component and release.
func printPromoteOutcomes(g *globals, outcomes []forge.PromoteOutcome) {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tRELEASE\tVERSION\tRESULT")
	for _, o := range outcomes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Component, o.Release, o.Version, withReason(string(o.Status), o.Reason))
	}
	tw.Flush()
}
