package publishing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// ChangedHint explains a rebuild the pool refuses (aptrepo.ChangedError)
// and names the exact fix. The usual cause is a changed build root (a
// library update after 'root update'): the cache key changed, so the
// component was rebuilt, and its bytes differ while its version does not.
func ChangedHint(c *spec.Component, err error) error {
	var ce *aptrepo.ChangedError
	if !errors.As(err, &ce) {
		return err
	}
	err = fmt.Errorf("%w: the same version was built again with other bytes (its build root, Go toolchain, debforge or the spec changed since it was published)", err)
	rev, suffix, _ := strings.Cut(c.Revision, "+")
	n, convErr := strconv.Atoi(rev)
	if convErr != nil {
		return hint.With(err, fmt.Sprintf("raise revision: in %s (now %q) and build again; the new version publishes beside the old one", c.File, rev))
	}
	newVer := c.Version + "-" + strconv.Itoa(n+1)
	if suffix != "" {
		newVer += "+" + suffix
	}
	return hint.With(err, fmt.Sprintf("set revision: \"%d\" in %s (now \"%d\") and build again; the rebuilt package then publishes as %s beside %s", n+1, c.File, n, newVer, c.DebVersion()))
}

// CheckNotOlder refuses to build c's version when a higher one is
// already published in repoDir's component for arch (the same release):
// apt never installs it on a host that has the newer one, and pruning to
// keep: N may drop it at once.
func CheckNotOlder(repoDir, component string, c *spec.Component, arch string) error {
	newest := aptrepo.NewestPublished(repoDir, component, c.PackageName(), arch, c.DebVersion())
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
