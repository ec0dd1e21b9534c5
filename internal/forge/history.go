package forge

import (
	"fmt"
	"path/filepath"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
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

func (f *Forge) packageArch(c *spec.Component) string {
	if c.Package.Architecture == "all" {
		return "all"
	}
	return f.opts.Arch
}

// checkNotOlder refuses to build a version below one already published
// for the same release and architecture: apt never installs it on a host
// that has the newer one, and pruning to keep: N may drop it at once.
func (f *Forge) checkNotOlder(c *spec.Component) error {
	newest := aptrepo.NewestPublished(filepath.Join(f.opts.OutDir, "repo"), f.set.Repo.Component, c.PackageName(), f.packageArch(c), c.DebVersion())
	if newest == "" || debian.CompareVersions(newest, c.DebVersion()) <= 0 {
		return nil
	}
	return &olderError{pkg: c.PackageName(), version: c.DebVersion(), published: newest, file: c.File}
}

type olderError struct{ pkg, version, published, file string }

func (e *olderError) Error() string {
	return fmt.Sprintf("%s %s is older than the published %s: apt never replaces a newer version with it", e.pkg, e.version, e.published)
}

func (e *olderError) Hint() string {
	return fmt.Sprintf("build a version above %s (raise version or revision in %s); to withdraw %s, publish a fixed higher version", e.published, e.file, e.published)
}
