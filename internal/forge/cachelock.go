package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/debforge/debforge/internal/filelock"
)

// cacheLockFile is held shared by every run that uses the cache and
// exclusively by clean, so clean never deletes work dirs, packages or
// modules under a running build (issue 9 item 16).
const cacheLockFile = ".lock"

// LockCache takes the cache lock: shared for builds (several may use one
// cache at once), exclusive for clean. It fails at once rather than wait.
func LockCache(cacheDir string, exclusive bool) (func(), error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(cacheDir, cacheLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock cache: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if exclusive {
				return nil, fmt.Errorf("cache %s is in use by a running debforge: %w; clean it when that run has finished", cacheDir, ErrLocked)
			}
			return nil, fmt.Errorf("cache %s is being cleaned: %w; run again when 'debforge clean' has finished", cacheDir, ErrLocked)
		}
		return nil, fmt.Errorf("lock cache %s: %w", cacheDir, err)
	}
	return func() { f.Close() }, nil
}

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
