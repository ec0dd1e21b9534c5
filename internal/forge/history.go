package forge

import (
	"path/filepath"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/publishing"
	"github.com/debforge/debforge/internal/spec"
)

// changelogHistory returns the changelog entries of the revisions of c's
// package already in the pool (newest first), for its changelog.Debian.gz
// and its cache key. A published .deb never changes, so the text read
// from one is remembered (filehash.Memo): a no-op build does not
// decompress packages.
func (f *Forge) changelogHistory(c *spec.Component) ([]byte, error) {
	arch := f.packageArch(c)
	deb, _ := aptrepo.Published(filepath.Join(f.opts.OutDir, "repo"), f.set.Repo.Component, c.PackageName(), arch, c.DebVersion())
	if deb == "" {
		return nil, nil
	}
	// The text depends on whether the .deb is this version (drop its own
	// entry) or an earlier one, and on the file's bytes: pools of several
	// repositories share one cache, and two of them may hold different
	// .debs under the same name. The memo keys it by the file's identity:
	// the pool replaces a file only by renaming a new one over it, so
	// other bytes mean another identity, and no no-op build has to read
	// every .deb.
	memo := f.digests()
	memo.Input = c.PackageName() + " " + c.DebVersion()
	text, err := memo.Of("changelog-history", func() (string, error) {
		text, err := packaging.ChangelogHistory(deb, c.PackageName(), c.DebVersion())
		return string(text), err
	}, deb)
	return []byte(text), err
}

// packageArch is the architecture of c's package in this run.
func (f *Forge) packageArch(c *spec.Component) string {
	if c.Package.Architecture == "all" {
		return "all"
	}
	return f.opts.Arch
}

// checkNotOlder refuses to build a version below one already published
// for the same release and architecture (publishing.CheckNotOlder).
func (f *Forge) checkNotOlder(c *spec.Component) error {
	return publishing.CheckNotOlder(filepath.Join(f.opts.OutDir, "repo"), f.set.Repo.Component, c, f.packageArch(c))
}
