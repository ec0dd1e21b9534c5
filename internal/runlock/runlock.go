// Package runlock keeps debforge runs apart: one run writes an output
// directory at a time, and clean never deletes from a cache a build is
// using (nor a build starts while clean runs). Both locks are flock(2)
// and fail at once rather than wait.
package runlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked means another debforge run holds the lock: of the output
// directory, or of the cache (a build during clean, clean during a build).
var ErrLocked = errors.New("another debforge run is writing to this output directory")

// Out takes an exclusive lock on the output directory so that two runs
// never write the same repository. It fails at once rather than wait.
func Out(outDir string) (func(), error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	d, err := os.Open(outDir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w; wait for it to finish or use another --out", outDir, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", outDir, err)
	}
	return func() { d.Close() }, nil
}

// CacheLockFile is held shared by every run that uses the cache and
// exclusively by clean, so clean never deletes work dirs, packages or
// modules under a running build (issue 9 item 16).
const CacheLockFile = ".lock"

// Cache takes the cache lock: shared for builds (several may use one
// cache at once), exclusive for clean. It fails at once rather than wait.
func Cache(cacheDir string, exclusive bool) (func(), error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(cacheDir, CacheLockFile), os.O_CREATE|os.O_RDWR, 0o644)
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
