// Package filelock takes flock(2) locks on files and waits for them
// without blocking in the kernel, so that a signal ends the wait at once.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Wait locks the file at p (made if needed) with how (syscall.LOCK_EX or
// syscall.LOCK_SH), polling until it gets the lock or ctx ends. name says
// what the lock guards, for errors ("build root lock"). waiting, when not
// nil, is called once if the lock is held by someone else. The returned
// func releases the lock.
func Wait(ctx context.Context, p string, how int, name string, waiting func()) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, p, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		// A user who may not create the lock in another user's store can
		// only read it: open it read-only (flock works on any open file).
		if f, err = os.Open(p); err != nil {
			return nil, fmt.Errorf("%s %s: %w", name, p, err)
		}
	}
	for said := false; ; {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		if waiting != nil && !said {
			waiting()
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the %s %s (another run holds it): %w", name, p, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Try is Wait without the wait: it takes the lock if no one holds it, and
// fails otherwise.
func Try(p string, how int) (func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Wait tries once before it looks at ctx
	return Wait(ctx, p, how, "lock", nil)
}
