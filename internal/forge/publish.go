package forge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/sbom"
	"github.com/debforge/debforge/internal/spec"
)

// Publish rebuilds the repository indexes and signatures from pool/ alone.
func (f *Forge) Publish(ctx context.Context) error {
	if err := f.defaultArch(); err != nil {
		return err
	}
	unlock, err := LockOut(f.opts.OutDir)
	if err != nil {
		return err
	}
	defer unlock()
	unlockCache, err := LockCache(f.opts.CacheDir, false)
	if err != nil {
		return err
	}
	defer unlockCache()
	return f.publishChecked(filepath.Join(f.opts.OutDir, "repo"))
}

func (f *Forge) defaultArch() error {
	if f.opts.Arch == "" {
		arch, err := buildroot.HostArch()
		if err != nil {
			return err
		}
		f.opts.Arch = arch
	}
	return nil
}

// publishChecked publishes and then checks that the repository on disk
// matches its pool, so a publish that silently left a broken repository
// (a full disk, a file deleted behind its back) fails the run.
func (f *Forge) publishChecked(repoDir string) error {
	return f.publishCheckedRemoving(repoDir, nil)
}

// publishCheckedRemoving is publishChecked leaving the named packages,
// and the pool files named in files, out of the index and the pool.
func (f *Forge) publishCheckedRemoving(repoDir string, remove []string, files ...string) error {
	if err := f.publish(repoDir, remove, files...); err != nil {
		return err
	}
	if err := f.consistent(repoDir); err != nil {
		return fmt.Errorf("repository %s is not consistent after publishing: %w", repoDir, err)
	}
	return nil
}

func (f *Forge) publish(repoDir string, remove []string, files ...string) error {
	cfg, err := f.repoConfig(repoDir)
	if err != nil {
		return err
	}
	cfg.Remove, cfg.RemoveFiles = remove, files
	if err := f.buildKeyring(repoDir, cfg.Signer); err != nil {
		return fmt.Errorf("keyring package: %w", err)
	}
	return publishRepo(cfg)
}

// publishRepo is aptrepo.Publish; a test swaps it for one that returns nil
// but leaves the repository broken, to check the consistency check after
// it.
var publishRepo = aptrepo.Publish

// repoConfig is the repository's publishing configuration, with the
// signing keys (see loadSigner).
func (f *Forge) repoConfig(repoDir string) (aptrepo.Config, error) {
	repo := f.set.Repo
	signer, err := f.loadSigner(repoDir)
	if err != nil {
		return aptrepo.Config{}, err
	}
	return aptrepo.Config{
		Dir: repoDir, Origin: repo.Origin, Label: repo.Label, Suite: repo.Suite, Codename: repo.Codename,
		Component: repo.Component, Description: repo.Description, Keep: repo.Keep,
		ValidFor: time.Duration(repo.ValidDays) * 24 * time.Hour,
		Archs:    []string{f.opts.Arch}, KeyName: repo.KeyName, URL: repo.URL,
		Signer: signer, Now: f.opts.Now(), Releases: f.releaseTargets(),
	}, nil
}

// releaseTargets are the releases debforge.yaml's targets publish, in
// the order first named, each with every architecture named for it; none
// when no targets are set (one distribution, Codename).
func (f *Forge) releaseTargets() []aptrepo.ReleaseTarget {
	var out []aptrepo.ReleaseTarget
	index := map[string]int{}
	for _, t := range f.set.Repo.TargetList {
		i, ok := index[t.Release]
		if !ok {
			i = len(out)
			index[t.Release] = i
			out = append(out, aptrepo.ReleaseTarget{Codename: t.Release, Suite: t.Release, Suffix: t.Suffix()})
		}
		out[i].Archs = append(out[i].Archs, t.Arch)
	}
	return out
}

// consistent checks the published repository against its pool
// (aptrepo.Consistent), over every release it publishes.
func (f *Forge) consistent(repoDir string) error {
	rts := f.releaseTargets()
	if len(rts) == 0 {
		return aptrepo.Consistent(repoDir, f.set.Repo.Codename, f.set.Repo.KeyName)
	}
	return aptrepo.ConsistentReleases(repoDir, rts, f.set.Repo.KeyName)
}

// upToDate reports whether the build needs no new snapshot: the
// published index matches the pool (aptrepo.Consistent), and it says what
// the settings say or nothing in this run succeeded.
func (f *Forge) upToDate(repoDir string, results []Result) bool {
	if f.consistent(repoDir) != nil {
		return false
	}
	if !anySucceeded(results) {
		return true
	}
	cfg, err := f.repoConfig(repoDir)
	return err == nil && aptrepo.Current(cfg)
}

func anySucceeded(results []Result) bool {
	for _, r := range results {
		if r.Err == nil {
			return true
		}
	}
	return false
}

func (f *Forge) notify(msg string) {
	if f.opts.Notify != nil {
		f.opts.Notify(msg)
	}
}

// buildKeyring packages the public keys as <key_name> so hosts receive key
// changes through apt. Its version only grows (keyringVersion); while a
// key is rotated it holds both keys.
func (f *Forge) buildKeyring(repoDir string, signer *aptrepo.Signer) error {
	repo := f.set.Repo
	fps := signer.Fingerprints()
	version, reuse, err := f.keyringVersion(repoDir, fps)
	if err != nil || reuse {
		return err
	}
	if err := os.MkdirAll(f.opts.CacheDir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(f.opts.CacheDir, "keyring-")
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
	deb, err := packaging.Build(packaging.Input{Component: c, SrcDir: work, WorkDir: filepath.Join(work, "pkg"), Arch: "all", MTime: defaultEpoch}, work)
	if err != nil {
		return err
	}
	// Its SBOM too: every .deb in the pool has one (no source, no code).
	if _, err := sbom.Write(sbom.Input{Deb: deb, Package: c.PackageName(), Version: c.DebVersion(), Arch: "all",
		Summary: c.Summary, License: c.License, Supplier: c.Maintainer, Created: defaultEpoch}); err != nil {
		return err
	}
	_, _, err = aptrepo.AddToPool(repoDir, repo.Component, deb)
	return err
}

func splitMaintainer(m string) (name, email string) {
	name, rest, _ := strings.Cut(m, "<")
	return strings.TrimSpace(name), strings.TrimSuffix(strings.TrimSpace(rest), ">")
}
