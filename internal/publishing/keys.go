package publishing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/usage"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
)

// loadSigner loads the signing key and any previous keys still being
// rotated out. A new key is made only when Options.CreateKey allows it
// (the CLI's default key path, never a path the user named) and the
// repository does not already publish a key: a missing key must not
// silently re-key every host (issue 9 item 8).
func (r *Repo) loadSigner() (*aptrepo.Signer, error) {
	repo := r.Settings
	signer, err := aptrepo.LoadKey(r.Keys.Signing)
	if errors.Is(err, os.ErrNotExist) {
		if err := r.KeyProblem(); err != nil {
			return nil, err
		}
		name, email := splitMaintainer(repo.Maintainer)
		signer, err = aptrepo.CreateKey(r.Keys.Signing, repo.Label+" signing key, "+name, email)
		if err == nil {
			r.notify(fmt.Sprintf("generated a new repository signing key %s\n  stored at %s (mode 0600, outside the repository)\n  back it up: hosts trust this key, and losing it means re-keying every host", signer.Fingerprint(), r.Keys.Signing))
		}
	}
	if err != nil {
		return nil, err
	}
	var previous []*aptrepo.Signer
	for _, p := range r.Keys.Previous {
		s, err := aptrepo.LoadKey(p)
		if err != nil {
			return nil, &usage.Error{Err: fmt.Errorf("--previous-signing-key: %w", err)}
		}
		previous = append(previous, s)
	}
	return signer.With(previous...), nil
}

// KeyProblem returns why a run cannot sign: the key is missing and may
// not be made, or a previous key is missing. Build asks before building
// anything, so a run that cannot publish fails first and writes nothing.
func (r *Repo) KeyProblem() error {
	for _, p := range r.Keys.Previous {
		if _, err := os.Stat(p); err != nil {
			return &usage.Error{Err: fmt.Errorf("--previous-signing-key: %w", err)}
		}
	}
	if _, err := os.Stat(r.Keys.Signing); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	published := filepath.Join(r.Dir, r.Settings.KeyName+".gpg")
	if !r.Keys.Create {
		return usage.New(fmt.Errorf("signing key %s does not exist, and debforge never makes a new key at a path you named", r.Keys.Signing),
			fmt.Sprintf("restore the key from its backup, or make a new one with 'debforge --signing-key %s keygen' (hosts then need the new key)", r.Keys.Signing))
	}
	if _, err := os.Stat(published); err == nil {
		return usage.New(fmt.Errorf("signing key %s does not exist, but %s publishes a key: a new key would re-key every host", r.Keys.Signing, published),
			"restore the key from its backup, or pass its path with --signing-key")
	}
	return nil
}

// CreateSigningKey makes a new signing key at key (never over an existing
// file, never under outDir) named after the repository settings in
// specsDir, and returns its fingerprint.
func CreateSigningKey(key, outDir, specsDir string) (string, error) {
	if err := CheckKeyOutsideOut(key, outDir); err != nil {
		return "", err
	}
	if _, err := os.Lstat(key); err == nil {
		return "", usage.New(fmt.Errorf("%s already exists; debforge never replaces a signing key", key),
			"to rotate keys, keygen at a new path and publish with --signing-key NEW --previous-signing-key OLD")
	}
	repo, err := spec.LoadRepo(filepath.Join(specsDir, spec.RepoFile))
	if err != nil {
		return "", &usage.Error{Err: err}
	}
	name, email := splitMaintainer(repo.Maintainer)
	s, err := aptrepo.CreateKey(key, repo.Label+" signing key, "+name, email)
	if err != nil {
		return "", err
	}
	return s.Fingerprint(), nil
}

// keysLine records in the keyring package's description which keys it
// holds, so the next publish can tell whether it needs a new version.
const keysLine = "Fingerprints: "

var keysLineRe = regexp.MustCompile(`(?m)^\s*` + keysLine + `([0-9A-F ]+)$`)

// oldDateVersion is the keyring version form before YYYY.MMDD.N.
var oldDateVersion = regexp.MustCompile(`^[0-9]{8}\.`)

// keyringVersion decides the keyring package's upstream version: the
// newest one in the pool when it holds exactly these keys (reuse: nothing
// to build), else YYYY.MMDD.N, above every version in the pool. Dates sort
// above the old "1+<fingerprint>" scheme, and N counts key changes within
// one day, so a host always upgrades to the newest key set.
func (r *Repo) keyringVersion(fingerprints []string) (version string, reuse bool, err error) {
	repo := r.Settings
	dir := filepath.Join(r.Dir, filepath.Dir(aptrepo.PoolPath(repo.Component, repo.KeyName, "x")))
	debs, _ := filepath.Glob(filepath.Join(dir, repo.KeyName+"_*_all.deb"))
	newest, newestKeys := "", ""
	for _, p := range debs {
		d, err := debfile.ReadFile(p, debfile.Options{})
		if err != nil {
			return "", false, fmt.Errorf("read %s: %w", p, err)
		}
		if v := d.Get("Version"); newest == "" || debian.CompareVersions(v, newest) > 0 {
			newest = v
			newestKeys = ""
			if m := keysLineRe.FindStringSubmatch(d.Get("Description")); m != nil {
				newestKeys = m[1]
			}
		}
	}
	want := slices.Clone(fingerprints)
	slices.Sort(want)
	if newest != "" && newestKeys == strings.Join(want, " ") {
		return newest, true, nil
	}
	// YYYY.MMDD.N: lintian calls a first upload whose version starts with
	// eight digits new-package-uses-date-based-version-number. A pool that
	// already holds the earlier YYYYMMDD.N keeps that form, which sorts
	// above the new one (its changelog is no longer a first upload).
	layout := "2006.0102"
	if oldDateVersion.MatchString(newest) {
		layout = "20060102"
	}
	date := r.Now().UTC().Format(layout)
	version = date + ".1"
	if upstream, _, _ := strings.Cut(newest, "-"); strings.HasPrefix(upstream, date+".") {
		if n, err := strconv.Atoi(strings.TrimPrefix(upstream, date+".")); err == nil {
			version = fmt.Sprintf("%s.%d", date, n+1)
		}
	}
	if newest != "" && debian.CompareVersions(version+"-1", newest) <= 0 {
		// The clock went back: stay above what hosts already have.
		upstream := newest
		if i := strings.LastIndex(newest, "-"); i > 0 {
			upstream = newest[:i]
		}
		version = upstream + ".1"
	}
	return version, false, nil
}
