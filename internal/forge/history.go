package forge

import (
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// changelogHistory returns the changelog entries of the revisions of c's
// package already in the pool (newest first), for its changelog.Debian.gz
// and its cache key. A published .deb never changes, so the text read
// from one is kept in the cache under its file name: a no-op build does
// not decompress packages.
func (f *Forge) changelogHistory(c *spec.Component) ([]byte, error) {
	arch := f.opts.Arch
	if c.Package.Architecture == "all" {
		arch = "all"
	}
	deb, _ := aptrepo.Published(filepath.Join(f.opts.OutDir, "repo"), f.set.Repo.Component, c.PackageName(), arch, c.DebVersion())
	if deb == "" {
		return nil, nil
	}
	// The text depends on whether the .deb is this version (drop its own
	// entry) or an earlier one: both are in the name.
	cached := filepath.Join(f.opts.CacheDir, "changelogs", c.DebVersion()+"_"+filepath.Base(deb)+".txt")
	if text, err := os.ReadFile(cached); err == nil {
		return text, nil
	}
	text, err := packaging.ChangelogHistory(deb, c.PackageName(), c.DebVersion())
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(cached, text, 0o644); err != nil {
		return nil, err
	}
	return text, nil
}
