package tracking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/runlock"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/upstream"
	"github.com/debforge/debforge/internal/usage"
	"github.com/debforge/debforge/postinst"
)

// BumpOptions choose the version to bump to and, optionally, the hash the
// download must have (as an upstream announced it).
type BumpOptions struct {
	// Version is the upstream version; empty means the newest release.
	Version string
	// Sum is the expected go.sum hash of a Go module; Commit the expected
	// commit of a git tag. Empty: whatever the verified download has.
	Sum, Commit string
	// SHA256 is the expected digest of a tarball.
	SHA256 string
}

// Bumped is a spec that bump rewrote.
type Bumped struct {
	Component, File, From, To string
	// Diff is the change in unified diff form.
	Diff string
	// Notes say what bump could not do and a person should check.
	Notes []string
}

// ErrCurrent means the spec already has the version asked for.
var ErrCurrent = errors.New("already at that version")

// Bump moves a component's spec to another upstream version: version,
// module version / tag, commit and hash (downloaded and verified),
// revision 1. The source is unpacked and its patches applied, and the
// rewritten spec validated, before the file is replaced: on any error the
// spec is left as it was.
func (f *Tracker) Bump(ctx context.Context, name string, o BumpOptions, log io.Writer) (*Bumped, error) {
	b, err := f.bump(ctx, name, o, log)
	return b, hint.With(err, bumpHint(err))
}

func (f *Tracker) bump(ctx context.Context, name string, o BumpOptions, log io.Writer) (*Bumped, error) {
	c := f.set.Get(name)
	if c == nil {
		return nil, usage.New(fmt.Errorf("bump %s: unknown component", name), "known: "+strings.Join(f.set.Names(), ", "))
	}
	if !upstream.Tracked(c) {
		return nil, &usage.Error{Err: fmt.Errorf("bump %s: only go_module, git and tarball sources with watch: can be bumped; edit %s by hand", name, c.File)}
	}
	k := f.checker
	var r upstream.Release
	var err error
	if o.Version == "" {
		r, err = k.Newest(ctx, c)
	} else {
		r, err = k.Find(ctx, c, o.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("bump: %w", err) // err names the component
	}
	if r.Version == c.Version {
		return nil, fmt.Errorf("bump %s: %w %s", name, ErrCurrent, c.Version)
	}
	unlock, err := runlock.Cache(f.cacheDir, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	nc, fe, err := f.fetchRelease(ctx, c, r, o, log)
	if err != nil {
		return nil, fmt.Errorf("bump %s to %s: %w", name, r.Version, err)
	}
	if err := f.checkPatches(ctx, nc, fe, log); err != nil {
		return nil, fmt.Errorf("bump %s to %s: %w", name, r.Version, err)
	}
	return f.rewriteSpec(c, nc, fe, r)
}

// fetchRelease downloads and verifies release r of c and returns the
// component as it will be, with the verified hash and commit.
func (f *Tracker) fetchRelease(ctx context.Context, c *spec.Component, r upstream.Release, o BumpOptions, log io.Writer) (*spec.Component, *source.Fetched, error) {
	nc := *c
	s := *c.Source
	nc.Source, nc.Version, nc.Revision = &s, r.Version, "1"
	switch {
	case s.GoModule != "":
		mod, _, _ := strings.Cut(s.GoModule, "@")
		s.GoModule, s.Sum, s.Commit = mod+"@"+r.Ref, o.Sum, ""
		if s.Sum == "" {
			// The hash is what the download hashes to; learn it from
			// the first (refused) fetch, then fetch for real with it.
			_, err := f.fetcher.Fetch(ctx, &nc, "", log)
			var mm *source.MismatchError
			if !errors.As(err, &mm) {
				if err == nil {
					err = fmt.Errorf("module %s verified against an empty hash", s.GoModule)
				}
				return nil, nil, err
			}
			s.Sum = mm.Got
		}
	case s.Tarball != "":
		if !strings.Contains(s.Tarball, c.Version) {
			return nil, nil, fmt.Errorf("the tarball URL %s does not contain the version %s, so the new one cannot be derived; edit %s by hand", s.Tarball, c.Version, c.File)
		}
		s.Tarball, s.SHA256 = r.Ref, o.SHA256
		if s.SHA256 == "" {
			_, err := f.fetcher.Fetch(ctx, &nc, "", log)
			var mm *source.MismatchError
			if !errors.As(err, &mm) {
				if err == nil {
					err = fmt.Errorf("%s verified against an empty hash", s.Tarball)
				}
				return nil, nil, err
			}
			s.SHA256 = mm.Got
		}
	case s.Git != "":
		if o.Commit != "" && o.Commit != r.Commit {
			return nil, nil, &source.MismatchError{Component: c.Name, What: s.Git + " tag " + r.Ref, Want: o.Commit, Got: r.Commit}
		}
		s.Tag, s.Commit = r.Ref, r.Commit
	}
	fe, err := f.fetcher.Fetch(ctx, &nc, "", log)
	if err != nil {
		return nil, nil, err
	}
	return &nc, fe, nil
}

// checkPatches unpacks the new source and applies the spec's deletions
// and patches, so a patch that no longer applies stops the bump.
func (f *Tracker) checkPatches(ctx context.Context, nc *spec.Component, fe *source.Fetched, log io.Writer) error {
	if len(nc.Source.Patches) == 0 && len(nc.Source.Delete) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(f.cacheDir, "work"), 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(filepath.Join(f.cacheDir, "work"), nc.Name+"-bump-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := f.fetcher.Prepare(ctx, nc, fe, filepath.Join(work, "src"), log); err != nil {
		return fmt.Errorf("the spec's patches no longer apply: %w", err)
	}
	return nil
}

// rewriteSpec edits c's file in place (comments and layout kept),
// validates the result and only then replaces the file.
func (f *Tracker) rewriteSpec(c, nc *spec.Component, fe *source.Fetched, r upstream.Release) (*Bumped, error) {
	data, err := os.ReadFile(c.File)
	if err != nil {
		return nil, err
	}
	b := &Bumped{Component: c.Name, File: c.File, From: c.Version, To: nc.Version}
	edits := []spec.Edit{{Path: []string{"version"}, Value: nc.Version}}
	set := func(value string, path ...string) {
		if spec.Has(data, path...) {
			edits = append(edits, spec.Edit{Path: path, Value: value})
		}
	}
	set("1", "revision")
	s := nc.Source
	switch {
	case s.GoModule != "":
		edits = append(edits, spec.Edit{Path: []string{"source", "go_module"}, Value: s.GoModule},
			spec.Edit{Path: []string{"source", "sum"}, Value: s.Sum})
		if spec.Has(data, "source", "commit") {
			if fe.Commit == "" {
				b.Notes = append(b.Notes, "source.commit: the Go module proxy does not say which commit "+r.Ref+" is; set it by hand")
			}
			set(fe.Commit, "source", "commit")
		}
	case s.Tarball != "":
		edits = append(edits, spec.Edit{Path: []string{"source", "tarball"}, Value: s.Tarball},
			spec.Edit{Path: []string{"source", "sha256"}, Value: s.SHA256})
	case s.Git != "":
		edits = append(edits, spec.Edit{Path: []string{"source", "tag"}, Value: s.Tag},
			spec.Edit{Path: []string{"source", "commit"}, Value: s.Commit})
	}
	if spec.Has(data, "source", "date") {
		if fe.Time.IsZero() {
			b.Notes = append(b.Notes, "source.date: the release date of "+r.Ref+" is not known; update it by hand")
		} else {
			set(fe.Time.UTC().Format(time.RFC3339), "source", "date")
		}
	}
	// The new revision's changelog entry is dated now, recorded in the
	// spec so that rebuilds give the same bytes.
	now := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	appendDate := !spec.Has(data, "date")
	set(now, "date")
	out, err := spec.Rewrite(data, edits)
	if err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", c.File, err)
	}
	if appendDate {
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, "date: "+now+"\n"...)
	}
	if _, err := spec.Parse(c.File, out, forge.NewRegistry().Kinds(), spec.WithScriptCheck(postinst.Check)); err != nil {
		return nil, fmt.Errorf("the bumped spec does not validate (nothing written): %w", err)
	}
	st, err := os.Stat(c.File)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(c.File, out, st.Mode().Perm()); err != nil {
		return nil, err
	}
	b.Diff = lineDiff(c.File, data, out)
	return b, nil
}

// lineDiff is a unified diff of two texts with the same number of lines
// (bump replaces values within lines), one hunk per changed line.
func lineDiff(name string, a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	var d strings.Builder
	fmt.Fprintf(&d, "--- %s\n+++ %s\n", name, name)
	for i := range al {
		if i < len(bl) && al[i] != bl[i] {
			fmt.Fprintf(&d, "@@ -%d +%d @@\n-%s\n+%s\n", i+1, i+1, al[i], bl[i])
		}
	}
	return d.String()
}

// bumpHint says what to do about a failed bump ("" when nothing specific).
func bumpHint(err error) string {
	var mm *source.MismatchError
	var nv *upstream.NoSuchVersionError
	var un *upstream.UnreachableError
	var ue *source.UnreachableError
	switch {
	case errors.As(err, &mm):
		return "the spec was not changed; check the expected hash, or leave it out to pin what the verified download hashes to"
	case errors.As(err, &nv):
		return "the spec was not changed; 'debforge outdated NAME' shows the newest version"
	case errors.As(err, &un), errors.As(err, &ue):
		return "the spec was not changed; check the network and GOPROXY"
	}
	return ""
}
