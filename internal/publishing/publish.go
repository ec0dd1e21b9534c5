// Package publishing keeps a debforge apt repository (OUT/repo): it
// publishes the pool as signed indexes and checks the result against the
// pool, makes and rotates the signing keys (and the keyring package hosts
// get them from), and finds and removes orphans, packages no spec builds
// any more. The caller holds the output and cache locks.
package publishing

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/packaging/sbom"
	"github.com/debforge/debforge/internal/spec"
)

// Repo is one repository and what publishing it needs.
type Repo struct {
	// Dir is the repository (OUT/repo); CacheDir holds scratch space.
	Dir, CacheDir string
	// Settings are debforge.yaml's; Components what the specs build
	// (every other package in the pool is an orphan).
	Settings   *spec.Repo
	Components []*spec.Component
	// Arch is the architecture of a repository without targets.
	Arch string
	Keys Keys
	// Now is the publish time; Notify, when set, tells the user about a
	// key made for them.
	Now    func() time.Time
	Notify func(string)
}

// Keys are the signing key's path, the paths of keys being rotated out
// (still listed, so hosts trust both during the change), and whether a
// missing signing key may be made (the CLI's default path only).
type Keys struct {
	Signing  string
	Previous []string
	Create   bool
}

// Publish publishes the pool (without the named packages, and without the
// pool files named in files) and checks that the repository on disk
// matches its pool, so a publish that silently left a broken repository
// (a full disk, a file deleted behind its back) fails the run.
func (r *Repo) Publish(remove []string, files ...string) error {
	if err := r.publish(remove, files...); err != nil {
		return err
	}
	if err := r.Consistent(); err != nil {
		return fmt.Errorf("repository %s is not consistent after publishing: %w", r.Dir, err)
	}
	return nil
}

func (r *Repo) publish(remove []string, files ...string) error {
	if err := r.carryOverToStable(); err != nil {
		return err
	}
	cfg, err := r.config()
	if err != nil {
		return err
	}
	cfg.Remove, cfg.RemoveFiles = remove, files
	if err := r.buildKeyring(cfg.Signer); err != nil {
		return fmt.Errorf("keyring package: %w", err)
	}
	return publishRepo(cfg)
}

// publishRepo is aptrepo.Publish; a test swaps it for one that returns nil
// but leaves the repository broken, to check the consistency check after
// it.
var publishRepo = aptrepo.Publish

// config is the repository's publishing configuration, with the
// signing keys (see loadSigner).
func (r *Repo) config() (aptrepo.Config, error) {
	repo := r.Settings
	signer, err := r.loadSigner()
	if err != nil {
		return aptrepo.Config{}, err
	}
	releases, err := r.releaseTargets()
	if err != nil {
		return aptrepo.Config{}, err
	}
	return aptrepo.Config{
		Dir: r.Dir, Origin: repo.Origin, Label: repo.Label, Suite: repo.Suite, Codename: repo.Codename,
		Component: repo.Component, Description: repo.Description, Keep: repo.Keep,
		ValidFor: time.Duration(repo.ValidDays) * 24 * time.Hour,
		Archs:    []string{r.Arch}, KeyName: repo.KeyName, URL: repo.URL,
		Signer: signer, Now: r.Now(), Releases: releases,
	}, nil
}

// releaseTargets are the suites debforge.yaml's targets publish, in
// the order first named, each with every architecture named for it; none
// when no targets are set (one distribution, Codename). With staging,
// each release's own suite lists what was promoted into it (the
// repository's keyring always), and <release>-staging beside it lists
// every build.
func (r *Repo) releaseTargets() ([]aptrepo.ReleaseTarget, error) {
	var out []aptrepo.ReleaseTarget
	index := map[string]int{}
	for _, t := range r.Settings.TargetList {
		i, ok := index[t.Release]
		if !ok {
			i = len(out)
			index[t.Release] = i
			out = append(out, aptrepo.ReleaseTarget{Codename: t.Release, Suite: t.Release, Suffix: t.Suffix()})
		}
		out[i].Archs = append(out[i].Archs, t.Arch)
	}
	if !r.Settings.Staging {
		return out, nil
	}
	promotions, err := aptrepo.ReadPromotions(r.Dir)
	if err != nil {
		return nil, err
	}
	promoted := aptrepo.PromotedIn(promotions)
	var both []aptrepo.ReleaseTarget
	for _, stable := range out {
		staging := stable
		staging.Codename += aptrepo.StagingSuffix
		staging.Suite, staging.Tested = staging.Codename, stable.Codename
		in := promoted[stable.Codename]
		stable.Admit = func(p *aptrepo.Package) bool {
			return p.Name == r.Settings.KeyName || in[aptrepo.PromotionKey(p.Name, p.Version, p.Arch)]
		}
		both = append(both, stable, staging)
	}
	return both, nil
}

// carryOverToStable records, the first time a repository published
// without staging is published with it, every version its releases list
// as promoted: hosts following a release keep what they had, and only
// new builds wait in staging.
func (r *Repo) carryOverToStable() error {
	if !r.Settings.Staging {
		return nil
	}
	if _, err := os.Stat(filepath.Join(r.Dir, aptrepo.PromotionsFile)); err == nil {
		return nil
	}
	var carried []aptrepo.Promotion
	for _, t := range r.Settings.TargetList {
		if _, err := os.Stat(filepath.Join(r.Dir, "dists", t.Release+aptrepo.StagingSuffix)); err == nil {
			return nil // published with staging before
		}
		stanzas, err := aptrepo.ReadIndex(r.Dir, t.Release, r.Settings.Component, t.Arch)
		if err != nil {
			continue
		}
		for _, st := range stanzas {
			p := aptrepo.Promotion{Release: t.Release, Package: debfile.FieldValue(st, "Package"), Version: debfile.FieldValue(st, "Version"),
				Arch: debfile.FieldValue(st, "Architecture"), Date: r.Now().UTC(), Changes: "Published before staging was turned on."}
			if p.Package != r.Settings.KeyName && !slices.Contains(carried, p) {
				carried = append(carried, p)
			}
		}
	}
	if len(carried) == 0 {
		return nil
	}
	return aptrepo.RecordPromotions(r.Dir, carried)
}

// Consistent checks the published repository against its pool
// (aptrepo.Consistent), over every release it publishes.
func (r *Repo) Consistent() error {
	rts, err := r.releaseTargets()
	if err != nil {
		return err
	}
	if len(rts) == 0 {
		return aptrepo.Consistent(r.Dir, r.Settings.Codename, r.Settings.KeyName)
	}
	return aptrepo.ConsistentReleases(r.Dir, rts, r.Settings.KeyName)
}

// UpToDate reports whether publishing would change nothing: the
// published index matches the pool (Consistent) and says what the
// settings say (aptrepo.Current); with settingsToo false, only the first.
func (r *Repo) UpToDate(settingsToo bool) bool {
	if r.Consistent() != nil {
		return false
	}
	if !settingsToo {
		return true
	}
	cfg, err := r.config()
	return err == nil && aptrepo.Current(cfg)
}

func (r *Repo) notify(msg string) {
	if r.Notify != nil {
		r.Notify(msg)
	}
}

// buildKeyring packages the public keys as <key_name> so hosts receive key
// changes through apt. Its version only grows (keyringVersion); while a
// key is rotated it holds both keys.
func (r *Repo) buildKeyring(signer *aptrepo.Signer) error {
	repo := r.Settings
	fps := signer.Fingerprints()
	version, reuse, err := r.keyringVersion(fps)
	if err != nil || reuse {
		return err
	}
	if err := os.MkdirAll(r.CacheDir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(r.CacheDir, "keyring-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	key, err := signer.PublicKey(false)
	if err != nil {
		return err
	}
	keyFile := "keyring.gpg"
	if err := os.WriteFile(filepath.Join(work, keyFile), key, 0o644); err != nil {
		return err
	}
	sorted := slices.Clone(fps)
	slices.Sort(sorted)
	c := &spec.Component{
		Name: repo.KeyName, Version: version, Revision: "1",
		Summary: "OpenPGP key of the " + repo.Label + " apt repository",
		Description: "The public key that signs the " + repo.Label + " package repository,\ninstalled in /usr/share/keyrings for the Signed-By option of apt sources.\n" +
			keysLine + strings.Join(sorted, " "),
		License: "CC0-1.0", Copyright: "Not copyrightable: a public key", Maintainer: repo.Maintainer,
		Changes: "Keys " + strings.Join(fps, ", ") + ".", File: repo.File,
		Package: &spec.Package{Name: repo.KeyName, Section: "misc", Priority: "optional", Architecture: "all", Compression: "xz",
			Contents: []spec.Content{{Src: keyFile, Dst: "/usr/share/keyrings/" + repo.KeyName + ".gpg", Mode: "0644"}}},
	}
	deb, err := packaging.Build(packaging.Input{Component: c, SrcDir: work, WorkDir: filepath.Join(work, "pkg"), Arch: "all", MTime: packaging.DefaultEpoch}, work)
	if err != nil {
		return err
	}
	// Its SBOM too: every .deb in the pool has one (no source, no code).
	if _, err := sbom.Write(sbom.Input{Deb: deb, Package: c.PackageName(), Version: c.DebVersion(), Arch: "all",
		Summary: c.Summary, License: c.License, Supplier: c.Maintainer, Created: packaging.DefaultEpoch}); err != nil {
		return err
	}
	_, _, err = aptrepo.AddToPool(r.Dir, repo.Component, deb)
	return err
}

func splitMaintainer(m string) (name, email string) {
	name, rest, _ := strings.Cut(m, "<")
	return strings.TrimSpace(name), strings.TrimSuffix(strings.TrimSpace(rest), ">")
}
