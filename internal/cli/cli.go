// Package cli is debforge's command line: flags, output and exit codes.
// It is the only package that writes to stdout or decides an exit code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/runlock"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/usage"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // a component failed to fetch, build or package
	ExitUsage   = 2 // bad flags or invalid specs
	ExitLocked  = 3 // another run holds the output directory
	ExitSignals = 130
)

// globals are the flags every command shares.
type globals struct {
	specs, out, cacheDir, signingKey, arch string
	previousKeys                           []string
	// keyNamed is set when the user named the key path (flag or
	// environment): debforge then never makes a new key there.
	keyNamed       bool
	rootsDir       string
	jobs           int
	verbose        bool
	stdout, stderr io.Writer
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string {
	if e.err == nil { // an exit code that is an answer, not a failure
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// Execute runs the CLI and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		ee = &exitError{code: ExitUsage, err: err, hint: "see 'debforge --help'"}
	}
	if ee.err != nil {
		printError(stderr, ee.err)
	}
	for _, h := range strings.Split(ee.hint, "\n") {
		if h != "" {
			fmt.Fprintf(stderr, "debforge: hint: %s\n", h)
		}
	}
	if ctx.Err() != nil {
		return ExitSignals
	}
	return ee.code
}

// printError prefixes each error with "debforge: error:"; the lines that
// continue one (a command's last lines of output) are indented instead, so
// a failed build reads as one message followed by its output, once.
func printError(w io.Writer, err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 1 {
			printError(w, e)
			continue
		}
		lines := strings.Split(strings.TrimRight(e.Error(), "\n"), "\n")
		fmt.Fprintf(w, "debforge: error: %s\n", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "debforge",
		Short:         "Build Debian packages from upstream source and publish a signed apt repository",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		g.keyNamed = cmd.Flags().Changed("signing-key") || os.Getenv("DEBFORGE_SIGNING_KEY") != ""
		if g.jobs < 1 {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--jobs %d: must be 1 or more", g.jobs), hint: "--jobs N builds N components at a time; the default is the number of cores"}
		}
		return nil
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.specs, "specs", "specs", "directory of component specs (*.yaml) and debforge.yaml")
	pf.StringVar(&g.out, "out", "out", "output directory; the apt repository goes to OUT/repo")
	pf.StringVar(&g.cacheDir, "cache-dir", defaultCacheDir(), "cache of sources, Go modules, builds and packages")
	pf.StringVar(&g.signingKey, "signing-key", defaultKeyPath(), "armored OpenPGP private key that signs the repository (env DEBFORGE_SIGNING_KEY; made on first use only at the default path, else see 'debforge keygen')")
	pf.StringArrayVar(&g.previousKeys, "previous-signing-key", nil, "a key being rotated out: still published and signing beside --signing-key (repeatable)")
	pf.StringVar(&g.arch, "arch", "", "Debian architecture to build for (default: this host's)")
	pf.StringVar(&g.rootsDir, "roots-dir", os.Getenv("DEBFORGE_ROOTS_DIR"), "build roots and Go toolchains (default: the \"roots\" directory in the cache dir; env DEBFORGE_ROOTS_DIR)")
	pf.IntVarP(&g.jobs, "jobs", "j", runtime.NumCPU(), "components built in parallel")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "stream build output to stderr")
	root.AddCommand(newKeygenCmd(g), newBuildCmd(g), newFetchCmd(g), newValidateCmd(g), newListCmd(g), newPublishCmd(g), newRemoveCmd(g), newOutdatedCmd(g), newBumpCmd(g), newNewCmd(g), newServeCmd(g), newVerifyCmd(g), newCleanCmd(g), newTestCmd(g), newPromoteCmd(g), newUpdateCmd(g),
		newGenManCmd(), newGenCompletionsCmd(), newUnpackSourceCmd(), newRootCmdGroup(g))
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command that only groups others
// ("debforge root") a usage error when given a word that names none of
// them: cobra otherwise prints the group's help and exits 0, so a typo
// looks like success. Without a word the help is printed, as asked for.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
	if cmd.Parent() == nil || !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return &exitError{code: ExitUsage, err: fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()),
			hint: "one of: " + strings.Join(names, ", ") + " (see '" + c.CommandPath() + " --help')"}
	}
}

// defaultCacheDir is /var/cache/debforge for root: builds run as an
// unprivileged uid that must read what the sandbox binds, and /root is 0700.
func defaultCacheDir() string {
	if os.Geteuid() == 0 && os.Getenv("XDG_CACHE_HOME") == "" {
		return "/var/cache/debforge"
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "debforge")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "debforge")
	}
	return filepath.Join(os.TempDir(), "debforge-cache")
}

// defaultKeyPath keeps the private key in the user's data directory: never
// in the output tree that gets served, and not in a cache one may wipe.
func defaultKeyPath() string {
	if k := os.Getenv("DEBFORGE_SIGNING_KEY"); k != "" {
		return k
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "debforge", "signing-key.asc")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "debforge", "signing-key.asc")
	}
	return "/var/lib/debforge/signing-key.asc"
}

// forgeOptions builds the orchestrator options from the global flags.
func (g *globals) forgeOptions() forge.Options {
	var log io.Writer
	if g.verbose {
		log = g.stderr
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	return forge.Options{
		SpecsDir: g.specs, OutDir: abs(g.out), CacheDir: abs(g.cacheDir), SigningKey: abs(g.signingKey),
		CreateKey: !g.keyNamed, PreviousKeys: absAll(g.previousKeys),
		Jobs: g.jobs, Arch: g.arch, RootsDir: absOr(g.rootsDir), Log: log,
		Notify: func(msg string) {
			for _, l := range strings.Split(msg, "\n") {
				fmt.Fprintf(g.stderr, "debforge: NOTICE: %s\n", l)
			}
		},
	}
}

func absAll(paths []string) []string {
	var out []string
	for _, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			a = p
		}
		out = append(out, a)
	}
	return out
}

// newForge loads the specs, mapping invalid specs to ExitUsage.
func newForge(opts forge.Options) (*forge.Forge, error) {
	f, err := forge.New(opts)
	if err != nil {
		var se *spec.Error
		fix := hint.Of(err)
		if errors.As(err, &se) {
			fix = "fix the spec files above; 'debforge validate' checks them without building"
		}
		return nil, &exitError{code: ExitUsage, err: err, hint: fix}
	}
	return f, nil
}

// runError maps an orchestrator error to an exit code.
func runError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, runlock.ErrLocked) {
		return &exitError{code: ExitLocked, err: err}
	}
	var ue *usage.Error
	if errors.As(err, &ue) {
		return &exitError{code: ExitUsage, err: err, hint: hint.Of(err)}
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: ExitFailed, err: err, hint: hint.Of(err)}
}

func absOr(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// rootsDirOrDefault is --roots-dir, or the roots directory in the cache.
func (g *globals) rootsDirOrDefault() string {
	if g.rootsDir != "" {
		return absOr(g.rootsDir)
	}
	return filepath.Join(absOr(g.cacheDir), "roots")
}

// firstLine is the first line of err's message, for a table's cell.
func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// withReason is an outcome as a table shows it: "held: why", or the
// outcome alone when there is no reason.
func withReason(status, reason string) string {
	if reason == "" {
		return status
	}
	return status + ": " + reason
}
