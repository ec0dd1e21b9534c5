package cli

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/source"
)

// newUnpackSourceCmd is the extractor debforge runs inside a sandbox, as
// the unprivileged build uid, for every fetched archive. Hidden: it is
// not meant to be typed.
func newUnpackSourceCmd() *cobra.Command {
	var kind string
	var strip int
	var maxBytes int64
	cmd := &cobra.Command{
		Use:    "unpack-source ARCHIVE DIR",
		Short:  "Extract a fetched archive into DIR (run by debforge in a sandbox)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := source.Unpack(kind, args[0], args[1], strip, maxBytes); err != nil {
				return &exitError{code: ExitFailed, err: fmt.Errorf("unpack-source %s (strip %s): %w", args[0], strconv.Itoa(strip), err)}
			}
			// Said for the build log: who did the extraction.
			fmt.Fprintf(cmd.OutOrStdout(), "unpack-source: %s unpacked as uid %d\n", args[0], os.Getuid())
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "tar", "archive kind: tar or zip")
	cmd.Flags().IntVar(&strip, "strip", 0, "leading path elements of tar entries to drop")
	cmd.Flags().Int64Var(&maxBytes, "max-bytes", 0, "most bytes of file content to write (0: no limit)")
	return cmd
}
