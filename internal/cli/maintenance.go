package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/forge"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var bf buildFlags
	cmd := &cobra.Command{
		Use:   "verify-reproducible [NAME...|all]",
		Short: "Build components twice in separate caches and report any byte that differs",
		RunE: func(cmd *cobra.Command, args []string) error {
			f, _, err := g.newRun(&bf)
			if err != nil {
				return err
			}
			results, err := f.VerifyReproducible(cmd.Context(), args)
			if err != nil {
				return runError(err)
			}
			bad := 0
			for _, r := range results {
				switch {
				case r.Err != nil:
					bad++
					fmt.Fprintf(g.stdout, "%s\terror\t%s\n", r.Component, strings.SplitN(r.Err.Error(), "\n", 2)[0])
				case len(r.Differences) > 0:
					bad++
					fmt.Fprintf(g.stdout, "%s\tDIFFERS\t%s vs %s\n", r.Component, r.Debs[0], r.Debs[1])
					for _, d := range r.Differences {
						fmt.Fprintf(g.stdout, "\t\t%s\n", d)
					}
				default:
					fmt.Fprintf(g.stdout, "%s\treproducible\n", r.Component)
				}
			}
			if bad > 0 {
				return &exitError{code: ExitFailed, err: fmt.Errorf("%d of %d components are not reproducible", bad, len(results))}
			}
			return nil
		},
	}
	bf.register(cmd, false)
	return cmd
}

func newCleanCmd(g *globals) *cobra.Command {
	var olderThan time.Duration
	var all bool
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Prune cached packages, work dirs and logs (--all: every cache)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := forge.Clean(g.forgeOptions().CacheDir, olderThan, all)
			if err != nil {
				return runError(err)
			}
			fmt.Fprintf(g.stdout, "removed %d entries from %s\n", n, g.cacheDir)
			return nil
		},
	}
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "only entries not used for this long (e.g. 720h)")
	cmd.Flags().BoolVar(&all, "all", false, "also remove the Go module and build caches and downloaded sources")
	return cmd
}
