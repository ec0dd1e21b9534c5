package forge

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"syscall"

	"github.com/debforge/debforge/internal/filelock"
)

// lockKey takes the lock of one cache entry (a package key, a shared
// compile), waiting while another build holds it and saying so in the
// component's log. flock(2) works between processes, between the
// goroutines of one run (each lock opens the file anew) and, on NFS,
// between machines.
func (f *Forge) lockKey(ctx context.Context, name, component string, log io.Writer) (func(), error) {
	return filelock.Wait(ctx, filepath.Join(f.opts.CacheDir, "locks", name+".lock"), syscall.LOCK_EX, "cache entry lock", func() {
		fmt.Fprintf(log, "debforge: waiting for another build of %s (%s) to finish with this cache entry\n", component, name)
		f.emit(Event{Component: component, Stage: StageWait})
	})
}
