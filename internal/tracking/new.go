package tracking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/runlock"
	"github.com/debforge/debforge/internal/scaffold"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/usage"
)

// NewOptions name the upstream source of a new component: exactly one of
// GoModule ("module@version"), Tarball (an https URL) or Git (an https
// URL, with Tag). Version overrides the version read from them.
type NewOptions struct {
	GoModule, Tarball, Git, Tag, Version string
}

// Created is a spec that new wrote.
type Created struct {
	File string
	// Invalid is what validation says about the written spec (a license
	// that matched no common text is left as a TODO that it rejects).
	Invalid error
}

// CommonLicensesDir is where Debian ships the license texts new matches.
var CommonLicensesDir = "/usr/share/common-licenses"

// NewSpec writes specs/NAME.yaml for an upstream source: it downloads and
// verifies the source, pins its hash (and commit), reads its license and
// build system, writes the spec (never over an existing one) and
// validates it.
func (f *Tracker) NewSpec(ctx context.Context, name string, o NewOptions, log io.Writer) (*Created, error) {
	c, err := f.newComponent(name, o)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(f.specsDir, name+".yaml")
	if _, err := os.Lstat(file); err == nil || f.set.Get(name) != nil {
		return nil, &usage.Error{Err: fmt.Errorf("new %s: %s already exists; new never overwrites a spec ('debforge bump %s' moves it to another version)", name, file, name)}
	}
	unlock, err := runlock.Cache(f.cacheDir, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.Source.Git != "" {
		if c.Source.Commit, err = f.checker.TagCommit(ctx, c.Source.Git, c.Source.Tag); err != nil {
			return nil, fmt.Errorf("new %s: %w", name, err)
		}
	}
	fe, err := f.fetchPinning(ctx, c, log)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", name, err)
	}
	g, err := f.inspect(ctx, c, fe, log)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", name, err)
	}
	s := c.Source
	text := scaffold.Spec(name, c.Version, homepageOf(s), scaffold.Source{Kind: fe.Kind, GoModule: s.GoModule, Sum: s.Sum,
		Tarball: s.Tarball, SHA256: s.SHA256, Git: s.Git, Tag: s.Tag, Commit: s.Commit}, g)
	out, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", name, err)
	}
	if _, err := io.WriteString(out, text); err != nil {
		out.Close()
		os.Remove(file)
		return nil, err
	}
	if err := out.Close(); err != nil {
		os.Remove(file)
		return nil, err
	}
	// Only what new wrote is judged: another spec being edited is not
	// its business.
	skipped := map[string]error{}
	_, verr := forge.LoadSpecs(f.specsDir, spec.SkippingInvalid(skipped))
	return &Created{File: file, Invalid: errors.Join(verr, skipped[file])}, nil
}

func (f *Tracker) newComponent(name string, o NewOptions) (*spec.Component, error) {
	if !debian.PackageNameRe.MatchString(name) {
		return nil, &usage.Error{Err: fmt.Errorf("new %q: not a Debian package name (lower-case letters, digits, '+', '-', '.'; two characters at least)", name)}
	}
	n := 0
	for _, v := range []string{o.GoModule, o.Tarball, o.Git} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, &usage.Error{Err: fmt.Errorf("new %s: give exactly one of --go-module MOD@VERSION, --tarball URL, --git URL --tag TAG", name)}
	}
	one := 1
	s := &spec.Source{GoModule: o.GoModule, Tarball: o.Tarball, Git: o.Git, Tag: o.Tag, StripComponents: &one}
	version := o.Version
	switch {
	case o.GoModule != "":
		mod, v, ok := strings.Cut(o.GoModule, "@")
		if !ok || mod == "" || !strings.HasPrefix(v, "v") {
			return nil, &usage.Error{Err: fmt.Errorf("new %s: --go-module %q: want an exact module@version, e.g. github.com/opencontainers/runc@v1.5.3", name, o.GoModule)}
		}
		version = cmp.Or(version, strings.TrimPrefix(v, "v"))
	case o.Tarball != "":
		t, err := f.tarballSource(name, o.Tarball)
		if err != nil {
			return nil, err
		}
		s.Tarball = t
		version = cmp.Or(version, versionInURL(o.Tarball))
	case o.Git != "":
		if !strings.HasPrefix(o.Git, "https://") {
			return nil, &usage.Error{Err: fmt.Errorf("new %s: --git %q: only https URLs", name, o.Git)}
		}
		if o.Tag == "" {
			return nil, &usage.Error{Err: fmt.Errorf("new %s: --git needs --tag TAG (the release to package)", name)}
		}
		version = cmp.Or(version, strings.TrimPrefix(o.Tag, "v"))
	}
	if version == "" || version[0] < '0' || version[0] > '9' {
		return nil, &usage.Error{Err: fmt.Errorf("new %s: cannot tell the upstream version (got %q); pass --version", name, version)}
	}
	return &spec.Component{Name: name, Version: version, Revision: "1", Source: s, Dir: f.specsDir}, nil
}

// tarballSource is what the spec's tarball: says for --tarball t: an
// https URL as given; a local file (file:///abs, or a path on this host,
// such as a Debian NAME_VERSION.orig.tar.xz) relative to the specs
// directory when it lies inside it, else as a file:// URL, so the spec
// finds it from wherever debforge runs. Plain http is refused: a download
// could be changed on the way before its hash is pinned.
func (f *Tracker) tarballSource(name, t string) (string, error) {
	switch {
	case strings.HasPrefix(t, "https://"):
		return t, nil
	case strings.Contains(t, "://") && !strings.HasPrefix(t, "file://"):
		return "", &usage.Error{Err: fmt.Errorf("new %s: --tarball %q: only https URLs or local files (a plain http download can be changed on the way)", name, t)}
	}
	p, err := filepath.Abs(strings.TrimPrefix(t, "file://"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", &usage.Error{Err: fmt.Errorf("new %s: --tarball %s: %w", name, t, err)}
	}
	specs, err := filepath.Abs(f.specsDir)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(specs, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel), nil
	}
	return "file://" + p, nil
}

// urlVersion finds the version in a release archive's name: NAME-1.2.3,
// NAME_v1.2.3 or a Debian orig tarball, NAME_1.2.3+dfsg.orig.tar.xz.
var urlVersion = regexp.MustCompile(`[-_]v?([0-9]+(?:\.[0-9]+)+(?:[+~][A-Za-z0-9]+(?:\.[0-9]+)?)?)(?:\.orig)?(?:\.tar|\.tgz|\.zip)`)

func versionInURL(u string) string {
	if m := urlVersion.FindStringSubmatch(path.Base(u)); m != nil {
		return m[1]
	}
	return ""
}

// fetchPinning fetches c's source with no hash pinned, learns the hash
// the download has, and fetches it again verified against it.
func (f *Tracker) fetchPinning(ctx context.Context, c *spec.Component, log io.Writer) (*source.Fetched, error) {
	if c.Source.GoModule != "" || c.Source.Tarball != "" {
		_, err := f.fetcher.Fetch(ctx, c, "", log)
		var mm *source.MismatchError
		if !errors.As(err, &mm) {
			if err == nil {
				err = errors.New("the source verified against an empty hash")
			}
			return nil, err
		}
		if c.Source.GoModule != "" {
			c.Source.Sum = mm.Got
		} else {
			c.Source.SHA256 = mm.Got
		}
	}
	return f.fetcher.Fetch(ctx, c, "", log)
}

func (f *Tracker) inspect(ctx context.Context, c *spec.Component, fe *source.Fetched, log io.Writer) (scaffold.Guess, error) {
	if err := os.MkdirAll(filepath.Join(f.cacheDir, "work"), 0o755); err != nil {
		return scaffold.Guess{}, err
	}
	work, err := os.MkdirTemp(filepath.Join(f.cacheDir, "work"), c.Name+"-new-")
	if err != nil {
		return scaffold.Guess{}, err
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	if err := f.fetcher.Prepare(ctx, c, fe, src, log); err != nil {
		return scaffold.Guess{}, err
	}
	return scaffold.Inspect(src, CommonLicensesDir, spec.CommonLicenses)
}

// homepageOf guesses the project page from a GitHub-style source.
func homepageOf(s *spec.Source) string {
	if mod, _, ok := strings.Cut(s.GoModule, "@"); ok && strings.HasPrefix(mod, "github.com/") {
		parts := strings.Split(mod, "/")
		if len(parts) >= 3 {
			return "https://" + strings.Join(parts[:3], "/")
		}
	}
	if s.Git != "" {
		return strings.TrimSuffix(s.Git, ".git")
	}
	return ""
}
