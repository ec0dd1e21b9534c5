package forge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// releaseNames returns every package name, real or virtual, that apt knows
// in the release being built for, read once per run. Until builds run in
// a build root of their target, that is this host's apt lists. An error
// (no apt here) yields no names: the check is a warning, never a failure.
func (f *Forge) releaseNames(ctx context.Context, log io.Writer) map[string]bool {
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
