package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/buildorder"
	"github.com/debforge/debforge/internal/executor/buildkit"
	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/publishing"
	"github.com/debforge/debforge/internal/releasenames"
	"github.com/debforge/debforge/internal/spec"
)

type buildFlags struct {
	sources  []string
	except   []string
	rebuild  []string
	keepWork bool
	targets  []string
	buildkit []string
	tlsDir   string
	bkCache  string
}

func (b *buildFlags) register(cmd *cobra.Command, withBuild bool) {
	cmd.Flags().StringArrayVar(&b.sources, "source", nil, "NAME=DIR: build NAME from a local directory instead of its spec's source (repeatable)")
	cmd.Flags().StringSliceVar(&b.except, "except", nil, "leave these components out")
	if withBuild {
		cmd.Flags().StringSliceVar(&b.rebuild, "rebuild", nil, "build these components even if a cached package matches")
		cmd.Flags().BoolVar(&b.keepWork, "keep-work", false, "keep the work directory of a failed build and print where it is")
		cmd.Flags().StringArrayVar(&b.targets, "target", nil, "RELEASE/ARCH: build only this one of the targets in debforge.yaml (repeatable; default all)")
		cmd.Flags().StringArrayVar(&b.buildkit, "buildkit-addr", nil, "[ARCH=]ADDR: run the builds on this BuildKit worker (unix:///run/buildkit/buildkitd.sock, tcp://host:1234) instead of the local sandbox; repeatable, ARCH= pins the worker to that architecture")
		cmd.Flags().StringVar(&b.bkCache, "buildkit-cache", "", "type=local,dest=DIR or type=registry,ref=HOST/REPO: import the workers' build layers from there and export them to it, so that other machines reuse them")
		cmd.Flags().StringVar(&b.tlsDir, "buildkit-tlsdir", "", "DIR: TLS files for a tcp:// worker, as buildctl --tlsdir takes them (ca.pem, cert.pem, key.pem)")
	}
}

func (b *buildFlags) apply(o *forge.Options) error {
	o.Targets = b.targets
	o.Sources = map[string]string{}
	for _, s := range b.sources {
		name, dir, ok := strings.Cut(s, "=")
		if !ok || name == "" || dir == "" {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--source %q: expected NAME=DIR", s)}
		}
		o.Sources[name] = dir
	}
	o.Except, o.Rebuild, o.KeepWork = b.except, b.rebuild, b.keepWork
	o.BuildKitAddrs, o.BuildKitTLSDir = b.buildkit, b.tlsDir
	if b.bkCache != "" {
		if len(b.buildkit) == 0 {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--buildkit-cache needs --buildkit-addr: the local sandbox has no BuildKit cache")}
		}
		cache, err := buildkit.ParseCache(b.bkCache)
		if err != nil {
			return &exitError{code: ExitUsage, err: err, hint: hint.Of(err)}
		}
		o.BuildKitCache = cache
	}
	return nil
}

// newRun loads the specs with the build flags applied and a progress
// printer on stderr.
func (g *globals) newRun(bf *buildFlags) (*forge.Forge, *progress, error) {
	opts := g.forgeOptions()
	if err := bf.apply(&opts); err != nil {
		return nil, nil, err
	}
	p := newProgress(g.stderr)
	opts.Events = p.event
	f, err := newForge(opts)
	return f, p, err
}

func newBuildCmd(g *globals) *cobra.Command {
	var bf buildFlags
	var explain bool
	cmd := &cobra.Command{
		Use:   "build [NAME...|all]",
		Short: "Fetch, build and package components, then publish the repository",
		Long: `Fetch, build and package the named components (default: all) and the
components they come after, put the packages into OUT/repo/pool and publish
signed indexes. Components whose inputs did not change come from the cache.
A failed component does not stop the others; the exit code is then 1.

Prints the pool path of every package on stdout; progress goes to stderr.

With --explain, builds nothing: for each component (and target) it prints
whether the package is in the cache under the key a build would use now,
and if not, which inputs of the key changed since the component's last
build: debforge, toolchain, target, root (the build root's package set),
repo, epoch, spec, version, source, after (the components it comes
after) or history (the changelog of earlier revisions).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, p, err := g.newRun(&bf)
			if err != nil {
				return err
			}
			if explain {
				return printExplanations(g, f, cmd.Context(), args)
			}
			results, err := f.Build(cmd.Context(), args)
			for _, r := range results {
				if r.Err == nil && r.Deb != "" {
					fmt.Fprintln(g.stdout, r.Deb)
				}
			}
			if len(results) > 0 {
				p.summary(results)
			}
			if err != nil {
				return runError(withHints(err, results))
			}
			return nil
		},
	}
	bf.register(cmd, true)
	cmd.Flags().BoolVar(&explain, "explain", false, "build nothing; say which packages would rebuild and which inputs of their keys changed")
	return cmd
}

// printExplanations prints build --explain's table: one row per
// component and target, what a build would do and why.
func printExplanations(g *globals, f *forge.Forge, ctx context.Context, names []string) error {
	ex, err := f.Explain(ctx, names)
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tBUILD\tWHY")
	for _, e := range ex {
		switch {
		case e.Err != nil:
			fmt.Fprintf(tw, "%s\tunknown\t%v\n", e.Component, e.Err)
		case e.Cached:
			fmt.Fprintf(tw, "%s\tcached\tkey %s\n", e.Component, e.Key)
		case !e.Previous:
			fmt.Fprintf(tw, "%s\tnew\tno earlier build recorded\n", e.Component)
		case len(e.Changed) == 0:
			fmt.Fprintf(tw, "%s\tnew\tsame inputs as the last build, whose package is no longer cached\n", e.Component)
		default:
			fmt.Fprintf(tw, "%s\tnew\tchanged: %s\n", e.Component, strings.Join(e.Changed, ", "))
		}
	}
	tw.Flush()
	return runError(err)
}

// withHints attaches the first failure's hint to the exit error.
func withHints(err error, results []forge.Result) error {
	var hints []string
	for _, r := range results {
		if r.Hint != "" {
			hints = append(hints, r.Hint)
		}
	}
	ee := runError(err).(*exitError)
	if len(hints) > 0 {
		ee.hint = strings.Join(hints, "\n")
	}
	return ee
}

func newFetchCmd(g *globals) *cobra.Command {
	var bf buildFlags
	cmd := &cobra.Command{
		Use:   "fetch [NAME...|all]",
		Short: "Download and verify sources (and Go dependencies) without building",
		RunE: func(cmd *cobra.Command, args []string) error {
			f, p, err := g.newRun(&bf)
			if err != nil {
				return err
			}
			p.did = "fetched"
			results, err := f.Fetch(cmd.Context(), args)
			for _, r := range results {
				if r.Err == nil {
					fmt.Fprintf(g.stdout, "%s\tverified\n", r.Component)
				}
			}
			if err != nil {
				return withHints(err, results)
			}
			return nil
		},
	}
	bf.register(cmd, false)
	return cmd
}

// loadSpecs is forge.LoadSpecs; a test makes it block to check that a
// signal still ends validate.
var loadSpecs = forge.LoadSpecs

func newValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check every spec and report all problems with file:line:col",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Loading is bounded (alias and template budgets), but a
			// signal must end validate even while it reads the files.
			type loaded struct {
				set *spec.Set
				err error
			}
			ch := make(chan loaded, 1)
			go func() {
				set, err := loadSpecs(g.specs)
				ch <- loaded{set, err}
			}()
			var set *spec.Set
			var err error
			select {
			case l := <-ch:
				set, err = l.set, l.err
			case <-cmd.Context().Done():
				return &exitError{code: ExitSignals, err: fmt.Errorf("validate: %w", cmd.Context().Err())}
			}
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if _, err := buildorder.Order(set); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			notes, err := releasenames.Unknown(set, g.rootsDirOrDefault())
			for _, n := range notes {
				fmt.Fprintf(g.stderr, "debforge: note: %s\n", n)
			}
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			fmt.Fprintf(g.stdout, "%d specs valid in %s\n", len(set.Components), g.specs)
			return nil
		},
	}
}

func newListCmd(g *globals) *cobra.Command {
	var lr listRepoFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List components: version, source kind, package, and whether it is in the repository",
		Long: `List the components of the specs: version, source kind, package, and
whether it is in OUT/repo.

With --repo URL|DIR, list instead what a published repository holds, from
its signed index: InRelease must verify with the key given by --keyring or
by --fingerprint, and every Packages index must match the hash InRelease
signs; otherwise nothing is printed and the exit code is 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if lr.repo != "" {
				return lr.run(cmd, g)
			}
			opts := g.forgeOptions()
			f, err := newForge(opts)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "COMPONENT\tVERSION\tSOURCE\tPACKAGE\tBUILT")
			for _, c := range f.Set().Components {
				built := "no"
				// With targets: "yes" when some target's build is pooled.
				versions := []string{c.DebVersion()}
				for _, t := range f.Set().Repo.TargetList {
					versions = append(versions, c.ForTarget(t).DebVersion())
				}
				var matches []string
				for _, v := range versions {
					m, _ := filepath.Glob(filepath.Join(opts.OutDir, "repo", "pool", "*", "*", "*", c.PackageName()+"_"+v+"_*.deb"))
					matches = append(matches, m...)
				}
				if len(matches) > 0 {
					built = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.DebVersion(), sourceKind(c), c.PackageName(), built)
			}
			orphans, err := f.Orphans()
			if err != nil {
				return runError(err)
			}
			for _, o := range orphans {
				fmt.Fprintf(tw, "-\t%s\torphan\t%s\tyes (%s)\n", o.Version, o.Package, o.Why)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(orphans) > 0 {
				fmt.Fprintf(g.stderr, "debforge: note: %d package version(s) in the pool have no spec (or their release is not in targets) and stay in the pool\n", len(orphans))
				fmt.Fprintln(g.stderr, "debforge: hint: debforge remove PACKAGE (or publish --prune-orphans) removes them from the pool and the index")
			}
			return nil
		},
	}
	lr.register(cmd)
	return cmd
}

func sourceKind(c *spec.Component) string {
	switch {
	case c.Source == nil:
		return "meta"
	case c.Source.GoModule != "":
		return "go_module"
	case c.Source.Tarball != "":
		return "tarball"
	case c.Source.Git != "":
		return "git"
	default:
		return "dir"
	}
}

func newPublishCmd(g *globals) *cobra.Command {
	var pruneOrphans bool
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Rebuild the repository indexes and signatures from OUT/repo/pool alone",
		Long: `Rebuild the repository indexes and signatures from OUT/repo/pool alone.
With --prune-orphans, packages no spec builds (see 'debforge list') are left
out of the index and deleted from the pool; each is named on stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := newForge(g.forgeOptions())
			if err != nil {
				return err
			}
			if pruneOrphans {
				gone, err := f.PruneOrphans(cmd.Context())
				printRemoved(g, gone)
				if err != nil {
					return runError(err)
				}
				if len(gone) > 0 {
					return nil
				}
			}
			if err := f.Publish(cmd.Context()); err != nil {
				return runError(err)
			}
			fmt.Fprintln(g.stdout, filepath.Join(g.out, "repo"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&pruneOrphans, "prune-orphans", false, "remove packages no spec builds from the pool and the index")
	return cmd
}

func newRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove PACKAGE...",
		Short: "Remove orphan packages (no spec builds them) from the pool and the index, and publish",
		Long: `Remove every version of the named packages from OUT/repo/pool and from
the published index, with their SBOMs, and publish a new signed snapshot.
Only orphans can be removed: a package a spec still builds would come back
with the next build, so delete or rename its spec first. Each removed .deb
is printed on stdout.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := newForge(g.forgeOptions())
			if err != nil {
				return err
			}
			gone, err := f.Remove(cmd.Context(), args)
			printRemoved(g, gone)
			return runError(err)
		},
	}
}

func printRemoved(g *globals, gone []forge.Orphan) {
	for _, o := range gone {
		fmt.Fprintln(g.stdout, filepath.Join(g.out, "repo", filepath.FromSlash(o.File)))
		fmt.Fprintf(g.stderr, "debforge: removed %s %s (%s)\n", o.Package, o.Version, o.Arch)
	}
}

func newServeCmd(g *globals) *cobra.Command {
	var addr string
	limits := aptrepo.DefaultServeLimits
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve OUT/repo over HTTP for hosts on the network",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := filepath.Join(g.out, "repo")
			if err := publishing.CheckKeysOutsideOut(g.signingKey, g.previousKeys, g.out); err != nil {
				return runError(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "dists")); err != nil {
				return &exitError{code: ExitUsage, err: fmt.Errorf("%s has no published repository", dir), hint: "run 'debforge build' or 'debforge publish' first"}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{code: ExitFailed, err: err}
			}
			fmt.Fprintf(g.stdout, "http://%s/\n", ln.Addr())
			srv, limit := aptrepo.NewServer(dir, limits)
			ln = limit(ln)
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return &exitError{code: ExitFailed, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().IntVar(&limits.MaxConns, "max-conns", limits.MaxConns, "most connections open at once (more clients wait)")
	cmd.Flags().DurationVar(&limits.IdleTimeout, "idle-timeout", limits.IdleTimeout, "close a keep-alive connection idle this long")
	cmd.Flags().DurationVar(&limits.WriteTimeout, "write-timeout", limits.WriteTimeout, "longest time to send one response (raise it for slow links)")
	return cmd
}
