package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// newRootCmdGroup is "debforge root": the build roots builds run in.
func newRootCmdGroup(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "root",
		Short: "Make, refresh and list the build roots builds run in",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "update [RELEASE[/ARCH]]",
		Short: "Make the build roots of a target afresh from the Debian mirror (needs root)",
		Long: `Make the base build root of the target (default: this host's
release and architecture) and every root of it made before (one per
set of build_depends) afresh from the Debian mirror. Packages built in a
root whose package set changed are rebuilt by the next build; the others
are not. The clean root debforge test starts from is made afresh too,
where one was made; tests then run again on it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			f, err := newForge(g.forgeOptions())
			if err != nil {
				return err
			}
			roots, err := f.UpdateRoots(cmd.Context(), target, logOrDiscard(g))
			for _, r := range roots {
				fmt.Fprintf(g.stdout, "%s\t%s\t%d packages\t%s\n", r.Target, r.Key, len(r.Packages), r.FS)
			}
			return runError(err)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the cached build roots: target, key, package count, build dependencies, size, base",
		Long: `List the cached build roots. A root with build dependencies is derived
from its target's base root and shares the base's files: its SIZE is
what it adds (the base's counts its tree and tarball). A stale root
(DERIVED_FROM "stale") is derived again before a build uses it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := newForge(g.forgeOptions())
			if err != nil {
				return err
			}
			roots, err := f.ListRoots()
			if err != nil {
				return runError(err)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TARGET\tKEY\tPACKAGES\tBUILD_DEPENDS\tSIZE\tDERIVED_FROM\tBASE TARBALL SHA256")
			for _, r := range roots {
				deps, from := "-", "-"
				if len(r.Depends) > 0 {
					deps, from = fmt.Sprint(r.Depends), "base"
				}
				if r.Variant != "" {
					deps = "(clean root for tests: " + r.Variant + ")"
				}
				sha := r.TarSHA256
				if r.Stale {
					from = "stale" // derived again before a build uses it
				}
				if sha == "" {
					sha = "-"
				}
				size, err := f.RootDiskUsage(r)
				if err != nil {
					return runError(err)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%dMB\t%s\t%s\n", r.Target, r.Key, len(r.Packages), deps, (size+1<<19)>>20, from, sha)
			}
			return tw.Flush()
		},
	})
	return cmd
}

// logOrDiscard is where command output goes: stderr with -v.
func logOrDiscard(g *globals) io.Writer {
	if g.verbose {
		return g.stderr
	}
	return io.Discard
}
