package forge

import (
	"context"
	"path/filepath"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/publishing"
	"github.com/debforge/debforge/internal/runlock"
)

// Orphan is a package in the pool that no spec builds (publishing.Orphan).
type Orphan = publishing.Orphan

// repo is the repository this Forge publishes, as package publishing
// keeps it.
func (f *Forge) repo() *publishing.Repo {
	return &publishing.Repo{
		Dir: filepath.Join(f.opts.OutDir, "repo"), CacheDir: f.opts.CacheDir,
		Settings: f.set.Repo, Components: f.set.Components, Arch: f.opts.Arch,
		Keys: publishing.Keys{Signing: f.opts.SigningKey, Previous: f.opts.PreviousKeys, Create: f.opts.CreateKey},
		Now:  f.opts.Now, Notify: f.opts.Notify,
	}
}

// Publish rebuilds the repository indexes and signatures from pool/ alone.
func (f *Forge) Publish(ctx context.Context) error {
	unlock, err := f.lockForPublishing()
	if err != nil {
		return err
	}
	defer unlock()
	return f.repo().Publish(nil)
}

// Orphans lists the pool's packages that no spec builds, by name and
// version. The repository's keyring package is not one: publish makes it.
func (f *Forge) Orphans() ([]Orphan, error) { return f.repo().Orphans() }

// Remove drops every version of the named orphan packages from the index
// and the pool (with their SBOMs) and publishes, and returns the removed
// .debs. A package a spec still builds is refused (the next build would
// bring it back), as is a name the pool does not hold; then nothing is
// removed.
func (f *Forge) Remove(ctx context.Context, names []string) ([]Orphan, error) {
	if err := f.repo().CheckRemovable(names); err != nil {
		return nil, err
	}
	return f.removeOrphans(ctx, names, true)
}

// PruneOrphans publishes without every orphan package and returns them.
func (f *Forge) PruneOrphans(ctx context.Context) ([]Orphan, error) {
	return f.removeOrphans(ctx, nil, false)
}

func (f *Forge) removeOrphans(ctx context.Context, names []string, strict bool) ([]Orphan, error) {
	unlock, err := f.lockForPublishing()
	if err != nil {
		return nil, err
	}
	defer unlock()
	gone, err := f.repo().RemoveOrphans(names, strict)
	if err != nil {
		return gone, err
	}
	return gone, ctx.Err()
}

// lockForPublishing takes the output and cache locks a publish outside a
// build needs, after settling the architecture of a repository without
// targets.
func (f *Forge) lockForPublishing() (func(), error) {
	if err := f.defaultArch(); err != nil {
		return nil, err
	}
	return f.lockOutAndCache()
}

// lockOutAndCache takes the output directory's lock (one writer of the
// repository) and the cache lock shared (no clean underneath), and
// returns what releases both.
func (f *Forge) lockOutAndCache() (func(), error) {
	unlockOut, err := runlock.Out(f.opts.OutDir)
	if err != nil {
		return nil, err
	}
	unlockCache, err := runlock.Cache(f.opts.CacheDir, false)
	if err != nil {
		unlockOut()
		return nil, err
	}
	return func() { unlockCache(); unlockOut() }, nil
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

func (f *Forge) notify(msg string) {
	if f.opts.Notify != nil {
		f.opts.Notify(msg)
	}
}
