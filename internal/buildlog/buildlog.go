// Package buildlog keeps one log per component (and target) that a
// person can trust: written afresh by each build, never emptied by a
// cache hit, the previous one kept beside it.
package buildlog

import (
	"io"
	"os"
	"path/filepath"
)

// Open opens dir/<name>.log afresh (it can be followed while the build
// runs) and returns a writer to it and to also, and its path ("" when it
// cannot be written: the writer is then also alone). The log it
// replaces is set aside, and finish(keep) decides: a kept log stays and
// the one it replaced becomes <name>.prev.log; one not kept (a cache hit,
// which built nothing) is dropped and the replaced log put back, so the
// log of the build that made the package stays readable.
func Open(dir, name string, also io.Writer) (w io.Writer, path string, finish func(keep bool)) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return also, "", func(bool) {}
	}
	path = filepath.Join(dir, name+".log")
	aside := filepath.Join(dir, "."+name+".log.before")
	hadOld := os.Rename(path, aside) == nil
	file, err := os.Create(path)
	if err != nil {
		return also, "", func(bool) {}
	}
	return io.MultiWriter(file, also), path, func(keep bool) {
		file.Close()
		switch {
		case !hadOld:
		case keep:
			os.Rename(aside, filepath.Join(dir, name+".prev.log"))
		default:
			os.Rename(aside, path)
		}
	}
}
