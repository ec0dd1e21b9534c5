package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/spf13/cobra"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// listRepoFlags are `debforge list --repo`'s: read a published repository
// (remote or local) through its signed index, never through the specs.
type listRepoFlags struct {
	repo, keyring, fingerprint, keyName string
	dists                               []string
}

func (l *listRepoFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.repo, "repo", "", "list what a published repository holds (URL or directory), from its signed index")
	f.StringVar(&l.keyring, "keyring", "", "with --repo: the public key (.asc or .gpg) you trust to sign it")
	f.StringVar(&l.fingerprint, "fingerprint", "", "with --repo: trust the repository's published KEY_NAME.asc only if it has this fingerprint")
	f.StringSliceVar(&l.dists, "dist", nil, "with --repo: codenames to read (default: the releases of targets: in SPECS/debforge.yaml and, with staging, their staging suites; else its codename, else debforge)")
	f.StringVar(&l.keyName, "key-name", "", "with --repo --fingerprint: the key files' name (default: key_name in SPECS/debforge.yaml, else debforge-archive-keyring)")
}

// run verifies each release's InRelease with the trusted key, reads the
// Packages indexes it signs, and prints one line per published .deb.
func (l *listRepoFlags) run(cmd *cobra.Command, g *globals) error {
	ctx := cmd.Context()
	if (l.keyring == "") == (l.fingerprint == "") {
		return &exitError{code: ExitUsage, err: errors.New("list --repo: say which key to trust: --keyring FILE or --fingerprint FPR"),
			hint: "--keyring takes the key hosts use (e.g. /usr/share/keyrings/KEY_NAME.gpg); --fingerprint takes the fingerprint shown on the repository's front page, checked against its published KEY_NAME.asc"}
	}
	// Defaults come from the local specs when there are any, so listing
	// the repository one builds needs no extra flags.
	dists, keyName := []string{"debforge"}, "debforge-archive-keyring"
	if r, err := spec.LoadRepo(filepath.Join(g.specs, spec.RepoFile)); err == nil {
		dists, keyName = []string{r.Codename}, r.KeyName
		if len(r.TargetList) > 0 {
			// With targets, each release is published under its codename.
			dists = nil
			// With staging, each has its staging suite beside it.
			for _, t := range r.TargetList {
				if !slices.Contains(dists, t.Release) {
					dists = append(dists, t.Release)
					if r.Staging {
						dists = append(dists, t.Release+aptrepo.StagingSuffix)
					}
				}
			}
		}
	}
	if len(l.dists) == 0 {
		l.dists = dists
	}
	if l.keyName != "" {
		keyName = l.keyName
	}
	fetch := aptrepo.NewFetcher(l.repo)
	var keys openpgp.EntityList
	var err error
	if l.keyring != "" {
		var data []byte
		if data, err = os.ReadFile(l.keyring); err == nil {
			keys, err = aptrepo.ReadPublicKeys(data)
		}
		if err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--keyring %s: %w", l.keyring, err)}
		}
	} else if keys, err = aptrepo.PublishedKey(ctx, fetch, keyName, l.fingerprint); err != nil {
		return &exitError{code: ExitFailed, err: fmt.Errorf("list --repo %s: %w", l.repo, err),
			hint: "compare the fingerprint with one you got from the repository's owner, not from the same server"}
	}
	// Read and verify every release before printing anything: the table
	// shows verified data or nothing.
	var rels []aptrepo.Release
	for _, d := range l.dists {
		rel, err := aptrepo.ReadRelease(ctx, fetch, keys, d, time.Now())
		if err != nil {
			return &exitError{code: ExitFailed, err: fmt.Errorf("list --repo %s: %w", l.repo, err),
				hint: "nothing from this repository was trusted; check the URL, the --dist and the key"}
		}
		valid := "no Valid-Until"
		if rel.ValidUntil != "" {
			valid = "valid until " + rel.ValidUntil
		}
		fmt.Fprintf(g.stderr, "debforge: %s: InRelease verified with key %s; dated %s, %s\n", d, rel.SignedBy, rel.Date, valid)
		rels = append(rels, rel)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tVERSION\tRELEASE\tARCH\tSIZE\tSUMMARY")
	for _, rel := range rels {
		for _, e := range rel.Entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.Name, e.Version, rel.Codename, e.Arch, e.Size, oneLine(e.Summary))
		}
	}
	return tw.Flush()
}

// oneLine keeps a summary from breaking the table or the terminal.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
