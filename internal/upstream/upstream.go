// Package upstream asks where a component comes from which versions
// exist: the Go module proxy's version list for go_module sources, the
// remote's tags for git sources. It reads and never writes.
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// Timeout bounds each question to an upstream.
const Timeout = 15 * time.Second

// Checker answers version questions.
type Checker struct {
	Runner execx.Runner
	HTTP   *http.Client
	// Proxy is the Go module proxy's base URL; empty means the first
	// http(s) entry of 'go env GOPROXY'.
	Proxy string
}

// Release is one upstream version of a component.
type Release struct {
	// Version is the upstream version as the spec writes it ("1.5.3").
	Version string
	// Ref is what the source names: the module version ("v1.5.3") or the
	// git tag.
	Ref string
	// Commit is the commit a git tag points to.
	Commit string
}

// UnreachableError is an upstream that did not answer.
type UnreachableError struct {
	Component, Where string
	Err              error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s: upstream %s did not answer: %v", e.Component, e.Where, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Tracked reports whether upstream versions of c can be looked up.
func Tracked(c *spec.Component) bool {
	return c.Source != nil && (c.Source.GoModule != "" || c.Source.Git != "" || (c.Source.Tarball != "" && c.Source.Watch != nil))
}

// Releases lists c's upstream releases, oldest first (pre-releases only
// with track: prerelease).
func (k *Checker) Releases(ctx context.Context, c *spec.Component) ([]Release, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var rs []Release
	var err error
	switch {
	case c.Source == nil:
		return nil, fmt.Errorf("%s: a meta-package has no upstream", c.Name)
	case c.Source.GoModule != "":
		rs, err = k.moduleReleases(ctx, c)
	case c.Source.Git != "":
		rs, err = k.gitReleases(ctx, c)
	case c.Source.Tarball != "" && c.Source.Watch != nil:
		rs, err = k.watchReleases(ctx, c)
	default:
		return nil, fmt.Errorf("%s: a %s source has no upstream to ask", c.Name, kindOf(c))
	}
	if err != nil {
		return nil, err
	}
	pre := c.Source.Track == "prerelease"
	var out []Release
	for _, r := range rs {
		v := "v" + r.Version
		if semver.IsValid(v) && semver.Build(v) == "" && (pre || semver.Prerelease(v) == "") {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return semver.Compare("v"+out[i].Version, "v"+out[j].Version) < 0 })
	return out, nil
}

// Newest is the newest release of c.
func (k *Checker) Newest(ctx context.Context, c *spec.Component) (Release, error) {
	rs, err := k.Releases(ctx, c)
	if err != nil {
		return Release{}, err
	}
	if len(rs) == 0 {
		return Release{}, fmt.Errorf("%s: upstream lists no release versions", c.Name)
	}
	return rs[len(rs)-1], nil
}

// Find returns the release of c with the given version, or an error that
// names the versions that do exist.
func (k *Checker) Find(ctx context.Context, c *spec.Component, version string) (Release, error) {
	rs, err := k.Releases(ctx, c)
	if err != nil {
		return Release{}, err
	}
	want := strings.TrimPrefix(version, "v")
	for _, r := range rs {
		if r.Version == want {
			return r, nil
		}
	}
	var known []string
	for _, r := range rs {
		known = append(known, r.Version)
	}
	if len(known) > 5 {
		known = append([]string{"…"}, known[len(known)-5:]...)
	}
	return Release{}, &NoSuchVersionError{Component: c.Name, Version: version, Known: known}
}

// NoSuchVersionError is a version upstream does not have.
type NoSuchVersionError struct {
	Component, Version string
	Known              []string
}

func (e *NoSuchVersionError) Error() string {
	return fmt.Sprintf("%s: upstream has no version %s (newest releases: %s)", e.Component, e.Version, strings.Join(e.Known, ", "))
}

// IsNewer reports whether upstream version a is newer than b.
func IsNewer(a, b string) bool { return semver.Compare("v"+a, "v"+b) > 0 }

func kindOf(c *spec.Component) string {
	switch {
	case c.Source.Tarball != "":
		return "tarball (without watch:)"
	case c.Source.Dir != "":
		return "dir"
	}
	return "unknown"
}

// proxy returns the module proxy base URL.
func (k *Checker) proxy(ctx context.Context) (string, error) {
	if k.Proxy != "" {
		return strings.TrimRight(k.Proxy, "/"), nil
	}
	var out bytes.Buffer
	if err := k.Runner.Run(ctx, execx.Cmd{Args: []string{"go", "env", "GOPROXY"}}, &out); err != nil {
		return "", fmt.Errorf("go env GOPROXY: %w", err)
	}
	for _, p := range strings.FieldsFunc(strings.TrimSpace(out.String()), func(r rune) bool { return r == ',' || r == '|' }) {
		if strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://") {
			return strings.TrimRight(p, "/"), nil
		}
	}
	return "", fmt.Errorf("GOPROXY %q names no module proxy URL", strings.TrimSpace(out.String()))
}

func (k *Checker) get(ctx context.Context, url string) ([]byte, error) {
	client := k.HTTP
	if client == nil {
		client = &http.Client{Timeout: Timeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// moduleReleases reads the proxy's @v/list; a proxy that refuses to list
// a module still answers @latest, which is then the only version known.
func (k *Checker) moduleReleases(ctx context.Context, c *spec.Component) ([]Release, error) {
	mod, _, _ := strings.Cut(c.Source.GoModule, "@")
	base, err := k.proxy(ctx)
	if err != nil {
		return nil, &UnreachableError{Component: c.Name, Where: "Go module proxy", Err: err}
	}
	esc, err := module.EscapePath(mod)
	if err != nil {
		return nil, fmt.Errorf("%s: module path %q: %w", c.Name, mod, err)
	}
	var versions []string
	list, listErr := k.get(ctx, base+"/"+esc+"/@v/list")
	if listErr == nil {
		versions = strings.Fields(string(list))
	}
	if len(versions) == 0 {
		latest, err := k.get(ctx, base+"/"+esc+"/@latest")
		if err != nil {
			// Both answers: a proxy that refuses the list (403) and has
			// no @latest (404) is a different problem from one that is down.
			if listErr != nil {
				err = fmt.Errorf("%w; then %w", listErr, err)
			}
			return nil, &UnreachableError{Component: c.Name, Where: base + "/" + esc, Err: err}
		}
		var info struct{ Version string }
		if err := json.Unmarshal(latest, &info); err != nil {
			return nil, fmt.Errorf("%s: %s/@latest: %w", c.Name, esc, err)
		}
		versions = []string{info.Version}
	}
	out := make([]Release, 0, len(versions))
	for _, v := range versions {
		out = append(out, Release{Version: strings.TrimPrefix(v, "v"), Ref: v})
	}
	return out, nil
}

// gitReleases reads the remote's tags with git ls-remote. An annotated
// tag's commit is the one its "^{}" line names.
func (k *Checker) gitReleases(ctx context.Context, c *spec.Component) ([]Release, error) {
	var out, errOut bytes.Buffer
	cmd := execx.Cmd{Args: []string{"git", "ls-remote", "--tags", "--", c.Source.Git}, Env: []string{"GIT_TERMINAL_PROMPT=0"}}
	if err := k.Runner.Run(ctx, cmd, io.MultiWriter(&out, &errOut)); err != nil {
		return nil, &UnreachableError{Component: c.Name, Where: c.Source.Git, Err: fmt.Errorf("%w: %s", err, lastLine(errOut.String()))}
	}
	prefix := ""
	if strings.HasPrefix(c.Source.Tag, "v") {
		prefix = "v"
	}
	commits := map[string]string{}
	var order []string
	for _, line := range strings.Split(out.String(), "\n") {
		sha, ref, ok := strings.Cut(strings.TrimSpace(line), "\t")
		tag, isTag := strings.CutPrefix(ref, "refs/tags/")
		if !ok || !isTag {
			continue
		}
		if t, peeled := strings.CutSuffix(tag, "^{}"); peeled {
			commits[t] = sha
			continue
		}
		if _, seen := commits[tag]; !seen {
			commits[tag] = sha
			order = append(order, tag)
		}
	}
	var rs []Release
	for _, tag := range order {
		v, ok := strings.CutPrefix(tag, prefix)
		if !ok || v == "" || v[0] < '0' || v[0] > '9' {
			continue
		}
		rs = append(rs, Release{Version: v, Ref: tag, Commit: commits[tag]})
	}
	return rs, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TagCommit returns the commit tag points to in the repository at url (an
// annotated tag peeled to its commit).
func (k *Checker) TagCommit(ctx context.Context, url, tag string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var out bytes.Buffer
	ref := "refs/tags/" + tag
	cmd := execx.Cmd{Args: []string{"git", "ls-remote", "--tags", "--", url, ref, ref + "^{}"}, Env: []string{"GIT_TERMINAL_PROMPT=0"}}
	if err := k.Runner.Run(ctx, cmd, &out); err != nil {
		return "", &UnreachableError{Component: url, Where: url, Err: fmt.Errorf("%w: %s", err, lastLine(out.String()))}
	}
	commit := ""
	for _, line := range strings.Split(out.String(), "\n") {
		sha, r, ok := strings.Cut(strings.TrimSpace(line), "\t")
		switch {
		case ok && r == ref+"^{}":
			return sha, nil
		case ok && r == ref:
			commit = sha
		}
	}
	if commit == "" {
		return "", fmt.Errorf("%s has no tag %s", url, tag)
	}
	return commit, nil
}

// watchReleases reads the watch page and takes the first group of each
// match of its regexp as a version, like uscan. Ref is the new archive
// URL: the spec's tarball URL with the version replaced.
func (k *Checker) watchReleases(ctx context.Context, c *spec.Component) ([]Release, error) {
	w := c.Source.Watch
	re, err := regexp.Compile(w.Regexp)
	if err != nil {
		return nil, fmt.Errorf("%s: source.watch.regexp: %w", c.Name, err)
	}
	page, err := k.get(ctx, w.URL)
	if err != nil {
		return nil, &UnreachableError{Component: c.Name, Where: w.URL, Err: err}
	}
	seen := map[string]bool{}
	var rs []Release
	for _, m := range re.FindAllStringSubmatch(string(page), -1) {
		v := strings.TrimPrefix(m[1], "v")
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		rs = append(rs, Release{Version: v, Ref: strings.ReplaceAll(c.Source.Tarball, c.Version, v)})
	}
	return rs, nil
}
