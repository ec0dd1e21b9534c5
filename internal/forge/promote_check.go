package forge

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/pkgtest"
)

// holdUninstallable checks, on each target, the release's suite as it
// would be with the pending candidates in it: every package's newest
// version must install there (pkgtest.Uninstallable). A candidate that
// does not is held with apt's unmet relation, and the rest are checked
// again without it. A package already in the suite that does not
// install is reported and holds nothing: promote did not break it.
func (f *Forge) holdUninstallable(ctx context.Context, repoDir string, cands []*candidate, targets []pkgtest.Target, progress io.Writer) error {
	tester := f.tester()
	for _, t := range targets {
		stable, err := aptrepo.ReadIndex(repoDir, t.Release, f.set.Repo.Component, t.Arch)
		if err != nil {
			return err
		}
		for {
			pending := pendingOn(cands, t)
			if len(pending) == 0 {
				break
			}
			suite := stable
			for _, cd := range pending {
				suite = append(suite, cd.stanzas[t.Arch])
			}
			fmt.Fprintf(progress, "checking that %s installs on %s with %d new versions\n", t.Release, t, len(pending))
			bad, err := tester.Uninstallable(ctx, t, renderIndex(suite), newestOf(suite), f.opts.Log)
			if err != nil {
				return err
			}
			held := false
			for _, cd := range pending {
				if why, ok := bad[cd.pkg+"="+cd.outcome.Version]; ok {
					cd.outcome.Status, cd.outcome.Reason = Held, fmt.Sprintf("would not install on %s: %s", t, why)
					delete(bad, cd.pkg+"="+cd.outcome.Version)
					held = true
				}
			}
			if !held {
				for p, why := range bad {
					fmt.Fprintf(progress, "warning: %s in %s does not install on %s: %s\n", p, t.Release, t, why)
				}
				break
			}
		}
	}
	return nil
}

// pendingOn are the candidates built for t that nothing has settled yet.
func pendingOn(cands []*candidate, t pkgtest.Target) []*candidate {
	var out []*candidate
	for _, cd := range cands {
		if cd.outcome.Status == "" && cd.release == t.Release && cd.stanzas[t.Arch] != nil {
			out = append(out, cd)
		}
	}
	return out
}

// renderIndex writes stanzas as a Packages file.
func renderIndex(stanzas [][]aptrepo.Field) []byte {
	var b strings.Builder
	for _, st := range stanzas {
		for _, f := range st {
			fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// newestOf names the newest version of each package the stanzas list,
// as name=version: what apt installs from the suite.
func newestOf(stanzas [][]aptrepo.Field) []string {
	newest := map[string]string{}
	var names []string
	for _, st := range stanzas {
		n, v := debfile.FieldValue(st, "Package"), debfile.FieldValue(st, "Version")
		old, seen := newest[n]
		if !seen {
			names = append(names, n)
		}
		if !seen || debian.CompareVersions(v, old) > 0 {
			newest[n] = v
		}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, n+"="+newest[n])
	}
	return out
}

// recordPromotions records every candidate nothing held as promoted, on
// each architecture it is built for, with its changelog text.
func recordPromotions(repoDir string, cands []*candidate, now time.Time) error {
	var ps []aptrepo.Promotion
	for _, cd := range cands {
		if cd.outcome.Status != "" {
			continue
		}
		cd.outcome.Status = Promoted
		seen := map[string]bool{}
		for _, t := range cd.targets {
			arch := cd.archOn(t)
			if seen[arch] {
				continue
			}
			seen[arch] = true
			ps = append(ps, aptrepo.Promotion{Release: cd.release, Package: cd.pkg, Version: cd.outcome.Version, Arch: arch,
				Date: now.UTC(), Changes: cd.c.Changes})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return aptrepo.RecordPromotions(repoDir, ps)
}
