package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenManCmd writes a man page per command (cobra's doc generator):
// debforge packages itself with them (specs/debforge-tool.yaml). Hidden:
// it is a build step, not something an admin runs.
func newGenManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages of every debforge command into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			root.DisableAutoGenTag = true // no "Auto generated ... on DATE" line
			machineIndependentDefaults(root)
			date, err := sourceDate()
			if err != nil {
				return &exitError{code: ExitUsage, err: err, hint: "SOURCE_DATE_EPOCH is seconds since 1970, e.g. 1767225600"}
			}
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			header := &doc.GenManHeader{Section: "1", Source: "debforge", Manual: "debforge manual", Date: &date}
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				return fmt.Errorf("gen-man %s: %w", args[0], err)
			}
			return nil
		},
	}
}

// newGenCompletionsCmd writes bash, zsh and fish completions under ROOT in
// Debian's paths.
func newGenCompletionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-completions ROOT",
		Short:  "Write bash, zsh and fish completions under ROOT in Debian's paths",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			gens := []struct {
				path string
				gen  func(string) error
			}{
				{"usr/share/bash-completion/completions/debforge", func(p string) error { return root.GenBashCompletionFileV2(p, true) }},
				{"usr/share/zsh/vendor-completions/_debforge", root.GenZshCompletionFile},
				{"usr/share/fish/vendor_completions.d/debforge.fish", func(p string) error { return root.GenFishCompletionFile(p, true) }},
			}
			for _, g := range gens {
				p := filepath.Join(args[0], g.path)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := g.gen(p); err != nil {
					return fmt.Errorf("gen-completions %s: %w", p, err)
				}
			}
			return nil
		},
	}
}

// machineIndependentDefaults describes the defaults that depend on the
// machine or user (home directory, number of cores), so the pages are
// the same wherever they are built (reproducible builds) and true on the
// admin's machine.
func machineIndependentDefaults(root *cobra.Command) {
	for name, text := range map[string]string{
		"cache-dir":   "$XDG_CACHE_HOME/debforge, else ~/.cache/debforge",
		"signing-key": "$XDG_DATA_HOME/debforge/signing-key.asc, else ~/.local/share/debforge/signing-key.asc",
		"jobs":        "the number of cores",
	} {
		if f := root.PersistentFlags().Lookup(name); f != nil {
			f.DefValue = text
		}
	}
}

// sourceDate is SOURCE_DATE_EPOCH (reproducible builds), else now.
func sourceDate() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Now().UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}
