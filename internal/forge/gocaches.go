package forge

import (

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/spec"
)

// The Go build cache the go command shares across components, where it
// alone runs (execx.Cmd.Trusted: the go builder's compiles of pure Go
// binaries whose spec sets no environment and no linker flag that can
// start a program). The go command trusts its cache's entries, and what
// it writes there itself is what it computed from the sources it read:
// only a program of a spec's choosing could write an entry that lies,
// and no such program ever sees this cache (post_steps, script steps and
// everything cgo runs use the component's own). Sharing it saves each
// component compiling the standard library and the modules the stack
// has in common again.
const (
	trustedGoCacheName = "build-trusted"
	trustedGoCachePath = "/build/go/trusted"
)

// goBuildCacheName names the Go build cache a build of c in root writes.
// The go command trusts its cache's entries, and a build can rewrite any
// file of the cache it writes: so each component has its own, and one
// component's build can never change what another one links. A pure Go
// compile does not depend on the root (the go command keys its entries by
// toolchain, GOOS/GOARCH, flags and sources), so it shares one cache
// across the component's roots and targets; anything that may run cgo or
// a C compiler gets one per root as well, because cgo objects depend on
// the root's headers and libraries, which the go command does not track.
func goBuildCacheName(c *spec.Component, root *buildroot.Root) string {
	if c.Build.PureGo() {
		return "build-" + c.Name + "-pure"
	}
	return "build-" + c.Name + "-" + root.Key[:16]
}
