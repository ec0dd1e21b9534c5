package forge

import (
	"fmt"
	"io"

	"github.com/debforge/debforge/internal/buildroot"
)

// releaseNames returns every package name, real or virtual, of the
// release being built for: from the build root's record of its own apt
// lists (the target release, whatever the host runs). A meta-package
// has no root: it takes the names of any root this run made for the
// release, or, failing that, of any ready root of the target in the
// store. Never the host's apt lists: the host may run another release
// than the target. No names (no root recorded them) means no check, with
// a note: it is a warning, never a failure.
func (f *Forge) releaseNames(be *buildEnv, root *buildroot.Root, log io.Writer) map[string]bool {
	if root == nil && be != nil {
		root = be.roots.Any()
		if root == nil && f.opts.RootsDir != "" {
			all, _ := f.rootStore().List()
			for _, r := range all {
				if r.Target == be.target {
					if _, ok := r.ReleaseNames(); ok {
						root = r
						break
					}
				}
			}
		}
	}
	if root == nil {
		f.namesOnce.Do(func() {
			fmt.Fprintf(log, "note: no build root of the target has recorded its release's package names: package names are not checked against the release (debforge root update makes the roots)\n")
		})
		return nil
	}
	names, ok := root.ReleaseNames()
	if !ok {
		fmt.Fprintf(log, "note: the build root %s was made before debforge recorded its release's package names: package names are not checked against the release (debforge root update %s makes it again)\n", root.FS, root.Target)
	}
	return names
}
