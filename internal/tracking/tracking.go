// Package tracking follows upstream releases for specs: new writes a spec
// for an upstream source (downloaded, verified, its license and build
// system read), outdated asks each component's upstream for its newest
// release, and bump moves a spec to another release, verified, its
// patches checked and the result validated before the file is replaced.
// It uses the orchestrator's fetcher (downloads into debforge's cache,
// archives unpacked in the build sandbox) and never builds.
package tracking

import (
	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/upstream"
)

// Tracker works on one loaded specs directory.
type Tracker struct {
	specsDir, cacheDir string
	except             []string
	set                *spec.Set
	fetcher            *source.Fetcher
	checker            *upstream.Checker
}

// For returns the Tracker of f's specs, cache and fetcher.
func For(f *forge.Forge) *Tracker {
	o := f.Options()
	return &Tracker{specsDir: o.SpecsDir, cacheDir: o.CacheDir, except: o.Except, set: f.Set(),
		fetcher: f.Fetcher(), checker: &upstream.Checker{Runner: o.Runner}}
}
