package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/cachedir"
	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/publishing"
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
					fmt.Fprintf(g.stdout, "%s\terror\t%s\n", r.Component, firstLine(r.Err))
				case len(r.Differences) > 0:
					bad++
					on := ""
					if r.Worker != "" {
						on = " (built on " + r.Worker + ")"
					}
					fmt.Fprintf(g.stdout, "%s\tDIFFERS\t%s vs %s%s\n", r.Component, r.Debs[0], r.Debs[1], on)
					for _, d := range r.Differences {
						fmt.Fprintf(g.stdout, "\t\t%s\n", d)
					}
				case r.Worker != "":
					fmt.Fprintf(g.stdout, "%s\treproducible\ton %s\n", r.Component, r.Worker)
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
	cmd.Flags().StringArrayVar(&bf.targets, "target", nil, "RELEASE/ARCH: verify only this one of the targets in debforge.yaml (repeatable; default all)")
	cmd.Flags().StringArrayVar(&bf.buildkit, "buildkit-addr", nil, "[ARCH=]ADDR: make the second build on this BuildKit worker, to check that it reproduces the local package (repeatable, as for build)")
	cmd.Flags().StringVar(&bf.tlsDir, "buildkit-tlsdir", "", "DIR: TLS files for a tcp:// worker, as for build")
	return cmd
}

func newCleanCmd(g *globals) *cobra.Command {
	var olderThan time.Duration
	var all bool
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Prune cached packages, work dirs, logs and unused build roots (--all: every cache)",
		Long: `Prune cached packages, work dirs and logs (with --older-than, only those
not used for that long; with --all, every cache, the Go caches and
downloaded sources too), and remove the Go build caches and the build
roots derived for build dependencies that no spec of --specs uses any
more, on any of its targets.
Base roots stay. The roots directory may be shared by other spec
directories: a root of theirs removed here is derived again, in seconds,
when they next build; a Go build cache of theirs removed here makes their
next compile start cold.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := cachedir.Clean(g.forgeOptions().CacheDir, olderThan, all)
			if err != nil {
				return runError(err)
			}
			fmt.Fprintf(g.stdout, "removed %d entries from %s\n", n, g.cacheDir)
			return cleanRoots(g)
		},
	}
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "only entries not used for this long (e.g. 720h)")
	cmd.Flags().BoolVar(&all, "all", false, "also remove the Go module and build caches and downloaded sources")
	return cmd
}

func newKeygenCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Make a new repository signing key at --signing-key (never over an existing file)",
		Long: `Make a new Ed25519 OpenPGP signing key at --signing-key, mode 0600, named
after debforge.yaml's label and maintainer, and print its fingerprint.
build and publish make a key by themselves only at the default path and only
for a repository that publishes none yet; a key path you name must exist.
To rotate keys: keygen a new key, then publish with --signing-key NEW
--previous-signing-key OLD until hosts have the new keyring package.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := g.forgeOptions()
			fp, err := publishing.CreateSigningKey(opts.SigningKey, opts.OutDir, opts.SpecsDir)
			if err != nil {
				return runError(err)
			}
			for _, l := range []string{"generated a new repository signing key " + fp, "  stored at " + opts.SigningKey + " (mode 0600); back it up"} {
				fmt.Fprintf(g.stderr, "debforge: NOTICE: %s\n", l)
			}
			fmt.Fprintln(g.stdout, fp)
			return nil
		},
	}
}

// cleanRoots removes the Go build caches and derived build roots the
// specs no longer use. It is a step of clean that needs the specs:
// without them it only says so.
func cleanRoots(g *globals) error {
	f, err := forge.New(g.forgeOptions())
	if err != nil {
		fmt.Fprintf(g.stderr, "debforge: note: build roots left alone: the specs could not be read (%v)\n", err)
		return nil
	}
	caches, err := f.CleanGoCaches()
	if err != nil {
		return runError(err)
	}
	fmt.Fprintf(g.stdout, "removed %d unused Go build caches from %s\n", len(caches), filepath.Join(g.forgeOptions().CacheDir, "go"))
	removed, busy, err := f.CleanRoots()
	if errors.Is(err, buildroot.ErrNeedRoot) {
		fmt.Fprintln(g.stderr, "debforge: note: build roots left alone: only root removes them (sudo debforge clean)")
		return nil
	}
	for _, dir := range busy {
		fmt.Fprintf(g.stderr, "debforge: note: build root %s is in use by a build; left\n", dir)
	}
	fmt.Fprintf(g.stdout, "removed %d unused build roots from %s\n", len(removed), g.forgeOptions().RootsDir)
	return runError(err)
}
