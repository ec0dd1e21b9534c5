// Package cachedir cleans debforge's cache directory: what is safe to
// remove (packages, work dirs, logs are made again; with all, the Go
// and source caches too), under the cache lock.
package cachedir

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/debforge/debforge/internal/runlock"
)

// Clean removes cached packages, work dirs, logs and kept test results
// older than age (all of them when age is 0); with all it also drops the
// Go and source caches.
func Clean(cacheDir string, age time.Duration, all bool) (removed int, err error) {
	if _, err := os.Stat(cacheDir); os.IsNotExist(err) {
		return 0, nil
	}
	unlock, err := runlock.Cache(cacheDir, true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if all {
		entries, err := os.ReadDir(cacheDir)
		if err != nil {
			if os.IsNotExist(err) {
				return 0, nil
			}
			return 0, err
		}
		for _, e := range entries {
			if e.Name() == runlock.CacheLockFile {
				continue
			}
			p := filepath.Join(cacheDir, e.Name())
			// The module cache is read-only by design; make it removable.
			filepath.Walk(p, func(q string, info os.FileInfo, err error) error {
				if err == nil && info.IsDir() {
					os.Chmod(q, 0o755)
				}
				return nil
			})
			if err := os.RemoveAll(p); err != nil {
				return removed, err
			}
			removed++
		}
		return removed, nil
	}
	cutoff := time.Now().Add(-age)
	for _, sub := range []string{"debs", "work", "logs", "changelogs", "digests", "tests/results", "tests/work"} {
		entries, _ := os.ReadDir(filepath.Join(cacheDir, sub))
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || (age > 0 && info.ModTime().After(cutoff)) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(cacheDir, sub, e.Name())); err != nil {
				return removed, fmt.Errorf("clean: %w", err)
			}
			removed++
		}
	}
	return removed, nil
}
