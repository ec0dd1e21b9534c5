package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/debforge/debforge/internal/tracking"
	"github.com/spf13/cobra"
)

// ExitOutdated is outdated's answer "something has a newer upstream".
const ExitOutdated = 10

func newOutdatedCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "outdated [NAME...|all]",
		Short: "Show each component's current and newest upstream version",
		Long: `Ask each component's upstream for its newest release: Go modules from the
Go module proxy's version list (GOPROXY; @latest when listing is refused),
git sources from the remote's tags (git ls-remote), tarballs from their
source.watch page and regexp (like uscan). Versions are compared as semver;
pre-releases count only with source.track: prerelease. Meta-packages, dir
sources and tarballs without watch: are "untracked".

Exit codes: 0 everything is current, 10 something is outdated, 1 an
upstream could not be asked (named in its row and on stderr; the others
are still reported).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := newForge(g.forgeOptions())
			if err != nil {
				return err
			}
			rows, err := tracking.For(f).Outdated(cmd.Context(), args)
			if err != nil {
				return runError(err)
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rows); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "COMPONENT\tCURRENT\tNEWEST\tSTATUS")
				for _, r := range rows {
					newest := r.Newest
					if newest == "" {
						newest = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Component, r.Current, newest, r.Status)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			errs, outdated := 0, 0
			for _, r := range rows {
				switch r.Status {
				case tracking.StatusError:
					errs++
					printError(g.stderr, fmt.Errorf("%s", r.Error))
				case tracking.StatusOutdated:
					outdated++
				}
			}
			switch {
			case errs > 0:
				return &exitError{code: ExitFailed, err: fmt.Errorf("%d upstream(s) could not be asked", errs), hint: "check the network and GOPROXY; the other components are listed above"}
			case outdated > 0:
				fmt.Fprintf(g.stderr, "debforge: %d component(s) outdated; 'debforge bump NAME' updates a spec\n", outdated)
				return &exitError{code: ExitOutdated}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func newBumpCmd(g *globals) *cobra.Command {
	var o tracking.BumpOptions
	cmd := &cobra.Command{
		Use:   "bump NAME [VERSION]",
		Short: "Move a spec to another upstream version (default: the newest), verified",
		Long: `Rewrite specs/NAME.yaml for another upstream release (default: the newest
'debforge outdated' finds): version, the go_module's @version or the git tag,
the hash (sum, downloaded and verified; or --sum to demand the hash upstream
announced), the commit, source.date, and revision back to 1. Comments and
layout are kept: only those values change. The new source is unpacked and the
spec's patches applied first, and the result validated, so a version that
does not exist, a hash that does not match, an unreachable upstream or a
patch that no longer applies is one error and the spec is left untouched.
The change is printed as a diff on stdout.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := newForge(g.forgeOptions())
			if err != nil {
				return err
			}
			if len(args) == 2 {
				o.Version = args[1]
			}
			b, err := tracking.For(f).Bump(cmd.Context(), args[0], o, io.Discard)
			if errors.Is(err, tracking.ErrCurrent) {
				fmt.Fprintf(g.stderr, "debforge: %v; nothing changed\n", err)
				return nil
			}
			if err != nil {
				return runError(err)
			}
			fmt.Fprint(g.stdout, b.Diff)
			fmt.Fprintf(g.stderr, "debforge: %s: %s -> %s in %s (validated)\n", b.Component, b.From, b.To, b.File)
			for _, n := range b.Notes {
				fmt.Fprintf(g.stderr, "debforge: note: %s\n", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Sum, "sum", "", `the Go module's expected hash ("h1:..."), as upstream announced it`)
	cmd.Flags().StringVar(&o.Commit, "commit", "", "the git tag's expected commit")
	cmd.Flags().StringVar(&o.SHA256, "sha256", "", "the tarball's expected sha256")
	return cmd
}

func newNewCmd(g *globals) *cobra.Command {
	var o tracking.NewOptions
	cmd := &cobra.Command{
		Use:   "new NAME (--go-module MOD@VERSION | --tarball URL|FILE | --git URL --tag TAG)",
		Short: "Write specs/NAME.yaml for an upstream source, its hash downloaded and verified",
		Long: `Download and verify an upstream source, then write specs/NAME.yaml for it:
the pinned sum / sha256 / commit, the license (the license file matched
against the texts in /usr/share/common-licenses; otherwise license: TODO,
which validate rejects until you set it), the build kind (go when there is a
go.mod, with every main package under cmd/ as a binary; autotools when
configure or configure.ac exists; make for a Makefile) and the version (from
the module version, the tag or the tarball's file name, a Debian
NAME_VERSION.orig.tar.* included; --version overrides). The spec is
validated; an existing spec is never overwritten. URLs must be https; a
local tarball (a path or file:///) is named relative to the specs
directory when it lies inside it, else by its file:// URL. The written
file's path is printed on stdout.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := g.forgeOptions()
			opts.ValidSpecsOnly = true
			f, err := newForge(opts)
			if err != nil {
				return err
			}
			c, err := tracking.For(f).NewSpec(cmd.Context(), args[0], o, io.Discard)
			if err != nil {
				return runError(err)
			}
			fmt.Fprintln(g.stdout, c.File)
			if c.Invalid != nil {
				return &exitError{code: ExitFailed, err: fmt.Errorf("%s was written but does not validate yet:\n%w", c.File, c.Invalid),
					hint: "edit " + c.File + " (see its TODO comments), then run 'debforge validate'"}
			}
			fmt.Fprintf(g.stderr, "debforge: wrote %s (validated); check its summary and description\n", c.File)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.GoModule, "go-module", "", "an exact module@version from the Go module proxy")
	cmd.Flags().StringVar(&o.Tarball, "tarball", "", "an https URL of a release archive, or a local one (a path or file:///)")
	cmd.Flags().StringVar(&o.Git, "git", "", "an https URL of a git repository (with --tag)")
	cmd.Flags().StringVar(&o.Tag, "tag", "", "the git tag of the release")
	cmd.Flags().StringVar(&o.Version, "version", "", "the upstream version, when the source does not say it")
	return cmd
}
