package aptrepo

import (
	"os"
	"path/filepath"
	"time"

	"github.com/debforge/debforge/internal/packaging/debfile"
)

// Current reports whether the published repository already says what cfg
// says: its Release carries cfg's Origin, Label, Suite, Codename,
// Components, Description and validity, and the .sources file is the one
// cfg gives (URL, key). Settings that change no package (url, description,
// valid_days, ...) rebuild nothing, so a build with an unchanged pool
// publishes again exactly when this is false.
func Current(cfg Config) bool {
	for _, rt := range cfg.releases() {
		if !currentRelease(cfg, rt) {
			return false
		}
	}
	return true
}

func currentRelease(cfg Config, rt ReleaseTarget) bool {
	rel, err := os.ReadFile(filepath.Join(cfg.Dir, "dists", rt.Codename, "Release"))
	if err != nil {
		return false
	}
	got := map[string]string{}
	for _, f := range debfile.ParseFields(rel) {
		got[f.Name] = f.Value
	}
	for k, v := range map[string]string{"Origin": cfg.Origin, "Label": cfg.Label, "Suite": rt.Suite,
		"Codename": rt.Codename, "Components": cfg.Component, "Description": cfg.Description} {
		if got[k] != v {
			return false
		}
	}
	var valid time.Duration
	if until := got["Valid-Until"]; until != "" {
		d, err1 := time.Parse(time.RFC1123Z, got["Date"])
		u, err2 := time.Parse(time.RFC1123Z, until)
		if err1 != nil || err2 != nil {
			return false
		}
		valid = u.Sub(d)
	}
	if valid != cfg.ValidFor {
		return false
	}
	asc, err := cfg.Signer.PublicKey(true)
	if err != nil {
		return false
	}
	sources, err := os.ReadFile(filepath.Join(cfg.Dir, cfg.SourcesName(rt.Codename)))
	return err == nil && string(sources) == sourcesText(cfg, rt.Codename, asc)
}
