package aptrepo

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// poolGuard knows which files under pool/ the published indexes list:
// the .debs named by a Filename of some dists/<codename>'s Packages, and
// their companions (Companions). Anything else in pool/ (a file an admin
// left, a package no release indexes) is not what publish wrote, and
// serve answers 404 for it. The set is read again only when a release
// changes (a publish swaps dists/<codename> to a new snapshot); each
// request costs a stat of each release's InRelease.
type poolGuard struct {
	dir string

	mu      sync.Mutex
	sig     string
	allowed map[string]bool
}

// allows reports whether rel (a clean slash path under pool/, no leading
// slash) is a file the published indexes list.
func (g *poolGuard) allows(rel string) bool {
	sig := g.signature()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.allowed == nil || sig != g.sig {
		g.allowed, g.sig = g.read(), sig
	}
	return g.allowed[rel]
}

// releases lists the codenames under dists/.
func (g *poolGuard) releases() []string {
	entries, err := os.ReadDir(filepath.Join(g.dir, "dists"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// signature changes whenever a release is published again: each
// dists/<codename> link target and its InRelease's inode, size and
// modification time (a publish writes a new snapshot, so a new file).
func (g *poolGuard) signature() string {
	var b strings.Builder
	for _, c := range g.releases() {
		d := filepath.Join(g.dir, "dists", c)
		target, _ := os.Readlink(d)
		fmt.Fprintf(&b, "%s -> %s", c, target)
		if st, err := os.Stat(filepath.Join(d, "InRelease")); err == nil {
			var ino uint64
			if s, ok := st.Sys().(*syscall.Stat_t); ok {
				ino = s.Ino
			}
			fmt.Fprintf(&b, " %d %d %d", ino, st.Size(), st.ModTime().UnixNano())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// read collects the pool files every sound release's index lists (a
// release whose indexes do not match its Release lists nothing).
func (g *poolGuard) read() map[string]bool {
	allowed := map[string]bool{}
	for _, c := range g.releases() {
		index, err := publishedIndex(g.dir, c)
		if err != nil {
			continue
		}
		for file := range index {
			file = path.Clean(file)
			if !strings.HasPrefix(file, "pool/") {
				continue
			}
			allowed[file] = true
			for _, p := range companionPaths(file) {
				allowed[p] = true
			}
		}
	}
	return allowed
}

// servable is true for a URL path outside pool/, and for one under it
// that the published indexes list.
func (g *poolGuard) servable(urlPath string) bool {
	rel := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if rel != "pool" && !strings.HasPrefix(rel, "pool/") {
		return true
	}
	return g.allows(rel)
}
