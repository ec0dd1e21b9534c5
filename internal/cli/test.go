package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/pkgtest"
)

func newTestCmd(g *globals) *cobra.Command {
	var targets, except []string
	cmd := &cobra.Command{
		Use:   "test [NAME...|all]",
		Short: "Run the components' tests against their published packages",
		Long: `Run the tests: of the named components (default: every component that
has tests) against the packages published in OUT/repo, on every target
each is built for. For each, apt installs the package (from the
repository, verified with its key) and what the tests need into a
throwaway tree made from a clean root of the target (an overlay of it
as root, else a copy); the tests then run there
without network, as the user ` + pkgtest.User + ` or as root.

Prints one line per package and target on stdout: passed, failed (the
first test that failed), or not run (why: an architecture this host
cannot emulate). Each result and its whole log are kept in
OUT/repo/tests/, and the front page, published again, links them.
A result is kept by a key over the clean root's packages, the package,
what installing it could take from the repository, and the tests: a
test nothing changed for is not run again, and says "cached".

Exit status 1 when a test failed or a package could not be tested.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := g.forgeOptions()
			opts.Targets, opts.Except = targets, except
			f, err := newForge(opts)
			if err != nil {
				return err
			}
			outcomes, err := f.Test(cmd.Context(), args, g.stderr)
			if len(outcomes) > 0 {
				printTestOutcomes(g, outcomes)
			}
			if err != nil {
				return runError(err)
			}
			if forge.TestFailed(outcomes) {
				for _, o := range outcomes {
					if o.Err != nil {
						return &exitError{code: ExitFailed, err: o.Err, hint: hint.Of(o.Err)}
					}
				}
				return &exitError{code: ExitFailed, err: fmt.Errorf("a test failed"), hint: "its whole output is in the file the LOG column names"}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&targets, "target", nil, "RELEASE/ARCH: test only on this one of the targets in debforge.yaml (repeatable; default all)")
	cmd.Flags().StringSliceVar(&except, "except", nil, "leave these components out")
	return cmd
}

// printTestOutcomes prints one row per package and target.
func printTestOutcomes(g *globals, outcomes []forge.TestOutcome) {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tTARGET\tVERSION\tRESULT\tSECONDS\tLOG")
	for _, o := range outcomes {
		r := o.Result
		if o.Err != nil {
			fmt.Fprintf(tw, "%s\t%s\t-\terror: %v\t-\t-\n", o.Component, o.Target, firstLine(o.Err))
			continue
		}
		result := withReason(string(r.Status), r.Reason)
		if r.Cached {
			result += " (cached)"
		}
		log := r.Log
		if log == "" {
			log = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%s\n", o.Component, o.Target, r.Version, result, r.Seconds, log)
	}
	tw.Flush()
}
