package forge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// releaseNames returns every package name, real or virtual, of the
// release being built for: from the build root's record of its own apt
// lists (the target release, whatever the host runs). A meta-package
// has no root: it takes the names of any root this run made for the
// release, or, failing that (roots made before debforge recorded names),
// this host's apt lists, read once per run. No names at all (no apt
// here) means no check: it is a warning, never a failure.
func (f *Forge) releaseNames(ctx context.Context, be *buildEnv, root *buildroot.Root, log io.Writer) map[string]bool {
	if root == nil && be != nil {
		be.mu.Lock()
		for _, r := range be.roots {
			root = r
			break
		}
		be.mu.Unlock()
	}
	if root != nil {
		if names, ok := root.ReleaseNames(); ok {
			return names
		}
		fmt.Fprintf(log, "note: the build root %s was made before debforge recorded its release's package names; this host's are used (debforge root update %s makes it again)\n", root.FS, root.Target)
	}
	f.namesOnce.Do(func() {
		var out bytes.Buffer
		cmd := execx.Cmd{Args: []string{"apt-cache", "--all-names", "pkgnames"}}
		if err := f.runner.Run(ctx, cmd, &out); err != nil {
			fmt.Fprintf(log, "warning: %s: %v: package names are not checked against the release\n", cmd, err)
			return
		}
		f.names = map[string]bool{}
		for _, n := range strings.Fields(out.String()) {
			f.names[n] = true
		}
	})
	return f.names
}

// nameCollision warns when c's package has the name of a package in the
// target release: apt then takes the two for one package and installs
// the release's over ours whenever its version is higher, in silence.
func nameCollision(c *spec.Component, names map[string]bool) string {
	n := c.PackageName()
	if !names[n] {
		return ""
	}
	return fmt.Sprintf("package name %q is taken by a package of the target release: apt installs the release's over yours whenever its version is higher; "+
		"name yours e.g. %q with provides: [\"%s (= %s)\"], conflicts: [%s], replaces: [%s] (README: naming your own packages)",
		n, "upstream-"+n, n, c.Version, n, n)
}
