// Package source fetches a component's upstream source into a
// content-addressed cache, verifies it against the hash pinned in the spec,
// and prepares scratch copies (with patches applied) for builds.
package source

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/filehash"
	"github.com/debforge/debforge/internal/spec"
)

// MismatchError is a download whose hash differs from the pinned one.
type MismatchError struct {
	Component, What, Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s\n  pinned in spec: %s\n  downloaded:     %s\nnothing was built from these bytes; if the new hash is expected, update the spec", e.What, e.Want, e.Got)
}

// UnreachableError is a source that could not be downloaded.
type UnreachableError struct {
	Component, URL string
	Err            error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot download %s: %v", e.URL, e.Err)
}

// Hint says how to build without the network.
func (e *UnreachableError) Hint() string {
	return fmt.Sprintf("on an offline host, build from a local checkout: debforge build %s --source %s=DIR", e.Component, e.Component)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Fetched is a verified source in the cache.
type Fetched struct {
	// Kind is go_module, tarball, git or dir.
	Kind string
	// Path is the module zip, tarball, git tree or local directory.
	Path string
	// ID is the verified content identity (h1 hash, sha256, commit or, for
	// local dirs, a hash of the tree) that goes into the build cache key.
	ID string
	// Commit is the upstream commit when known.
	Commit string
	// Time is the upstream release time when known (module proxy .info).
	Time time.Time
}

// Fetcher downloads and verifies sources.
type Fetcher struct {
	CacheDir string
	Runner   execx.Runner
	// Unpack, when set, extracts a fetched archive (kind "zip" or "tar")
	// in place of ExtractZip/ExtractTar in this process: debforge runs the
	// same extractor in a sandbox as the unprivileged build uid, so that a
	// flaw in it can still write nothing but the source tree.
	Unpack Unpacker
	// HTTP is used for tarballs; nil means a client with the timeouts
	// below.
	HTTP *http.Client
	// ConnectTimeout bounds connecting to a tarball's server (TCP and TLS);
	// IdleTimeout bounds waiting for the response and any pause in the
	// body. A slow but steady download is never cut off. Zero means
	// DefaultConnectTimeout and DefaultIdleTimeout.
	ConnectTimeout, IdleTimeout time.Duration
	// Private are debforge's own directories (cache, roots, output): a
	// dir source that contains one of them (a checkout with --cache-dir
	// inside it) neither copies nor hashes it. Copying the cache would
	// copy the copy being made into itself until the disk is full.
	Private []string

	clientOnce sync.Once
	client     *http.Client

	dirsMu sync.Mutex
	dirs   map[string]dirTree // readDir's, by path and excludes
}

// hashZip is HashZip, remembered under the cache (filehash.Memo) for as
// long as the zip keeps its identity: a run that builds a module for four
// targets, and every later run, reads the zip once.
func (f *Fetcher) hashZip(path string) (string, error) {
	return filehash.InCache(f.CacheDir).Of("go-module-zip", func() (string, error) { return HashZip(path) }, path)
}

// Tarball download timeouts: a server that accepts and then says nothing
// must not hang a build until someone sends a signal.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
)

// GoEnv is the environment shared by every go command debforge runs: one
// module cache and one build cache for all components, the local toolchain
// only, and no checksum-database lookups (the pinned h1: hash and each
// module's own go.sum verify everything).
func GoEnv(cacheDir string) []string {
	return []string{
		"GOMODCACHE=" + filepath.Join(cacheDir, "go", "mod"),
		"GOCACHE=" + filepath.Join(cacheDir, "go", "build"),
		"GOTOOLCHAIN=local",
		"GOSUMDB=off",
		"GOFLAGS=-buildvcs=false",
		"GOWORK=off",
	}
}

// Fetch makes c's source available and verified. override, when non-empty,
// is a local directory that replaces the spec's source.
func (f *Fetcher) Fetch(ctx context.Context, c *spec.Component, override string, log io.Writer) (*Fetched, error) {
	s := c.Source
	switch {
	case override != "":
		return f.fetchDir(ctx, c, override, log)
	case s.GoModule != "":
		return f.fetchModule(ctx, c, log)
	case s.Tarball != "":
		return f.fetchTarball(ctx, c, log)
	case s.Git != "":
		return f.fetchGit(ctx, c, log)
	default:
		return f.fetchDir(ctx, c, filepath.Join(c.Dir, s.Dir), log)
	}
}

func (f *Fetcher) fetchModule(ctx context.Context, c *spec.Component, log io.Writer) (*Fetched, error) {
	mod, ver, _ := strings.Cut(c.Source.GoModule, "@")
	env := append(GoEnv(f.CacheDir), "GOFLAGS=-mod=mod")
	dl := filepath.Join(f.CacheDir, "go", "mod", "cache", "download", escapePath(mod), "@v")
	zipPath := filepath.Join(dl, ver+".zip")
	if _, err := os.Stat(zipPath); err != nil {
		cmd := execx.Cmd{Args: []string{"go", "mod", "download", "-json", c.Source.GoModule}, Dir: f.CacheDir, Env: env}
		if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
			return nil, err
		}
		if err := execx.RunLogged(ctx, f.Runner, cmd, log); err != nil {
			return nil, &UnreachableError{Component: c.Name, URL: c.Source.GoModule + " (Go module proxy)", Err: err}
		}
	}
	got, err := f.hashZip(zipPath)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", zipPath, err)
	}
	if got != c.Source.Sum {
		return nil, &MismatchError{Component: c.Name, What: c.Source.GoModule, Want: c.Source.Sum, Got: got}
	}
	commit, released := moduleInfo(filepath.Join(dl, ver+".info"))
	if c.Source.Commit != "" {
		commit = c.Source.Commit
	}
	fe := &Fetched{Kind: "go_module", Path: zipPath, ID: got, Commit: commit, Time: released}
	return fe, f.downloadDeps(ctx, c, fe, log)
}

// downloadDeps fetches the module's dependencies, verified by its own
// go.sum, so that the build itself runs with GOPROXY=off.
func (f *Fetcher) downloadDeps(ctx context.Context, c *spec.Component, fe *Fetched, log io.Writer) error {
	pid, err := patchID(c)
	if err != nil {
		return err
	}
	stamp := filepath.Join(f.CacheDir, "go", "deps", stampName(fe.ID+pid))
	if _, err := os.Stat(stamp); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(f.CacheDir, "deps-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := f.Prepare(ctx, c, fe, tmp, log); err != nil {
		return err
	}
	cmd := execx.Cmd{Args: []string{"go", "mod", "download"}, Dir: tmp, Env: GoEnv(f.CacheDir)}
	if err := execx.RunLogged(ctx, f.Runner, cmd, log); err != nil {
		return fmt.Errorf("download dependencies of %s: %w", c.Source.GoModule, err)
	}
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

func (f *Fetcher) fetchTarball(ctx context.Context, c *spec.Component, _ io.Writer) (*Fetched, error) {
	want := c.Source.SHA256
	dst := filepath.Join(f.CacheDir, "tarballs", want)
	if got, err := filehash.SHA256(dst); err == nil && got == want {
		return &Fetched{Kind: "tarball", Path: dst, ID: want}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "dl-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	body, err := f.openTarball(ctx, c)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	defer body.Close()
	_, err = io.Copy(tmp, body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, &UnreachableError{Component: c.Name, URL: c.Source.Tarball, Err: f.explainTimeout(err, "stalled")}
	}
	got, err := filehash.SHA256(tmp.Name())
	if err != nil {
		return nil, err
	}
	if got != want {
		return nil, &MismatchError{Component: c.Name, What: c.Source.Tarball, Want: want, Got: got}
	}
	// A verified public archive: the build uid reads it to unpack it.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, err
	}
	return &Fetched{Kind: "tarball", Path: dst, ID: want}, nil
}

// LocalTarball returns the file a tarball source names on this machine:
// a file:// URL, or a path relative to the spec's directory (an offline
// admin's Debian orig tarball). ok is false for an http(s) URL.
func LocalTarball(c *spec.Component) (path string, ok bool) {
	t := c.Source.Tarball
	if rest, isFile := strings.CutPrefix(t, "file://"); isFile {
		return rest, true
	}
	if strings.Contains(t, "://") {
		return "", false
	}
	return filepath.Join(c.Dir, t), true
}

// openTarball opens the archive a tarball source names: a local file, or
// the body of an http(s) download (then its status was 200).
func (f *Fetcher) openTarball(ctx context.Context, c *spec.Component) (io.ReadCloser, error) {
	if p, ok := LocalTarball(c); ok {
		file, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%s: source.tarball: %w", c.File, err)
		}
		return file, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Source.Tarball, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return nil, &UnreachableError{Component: c.Name, URL: c.Source.Tarball, Err: f.explainTimeout(err, "no response")}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &UnreachableError{Component: c.Name, URL: c.Source.Tarball, Err: errors.New(resp.Status)}
	}
	return resp.Body, nil
}

func (f *Fetcher) fetchGit(ctx context.Context, c *spec.Component, log io.Writer) (*Fetched, error) {
	s := c.Source
	dst := filepath.Join(f.CacheDir, "git", s.Commit)
	if _, err := os.Stat(dst); err == nil {
		return &Fetched{Kind: "git", Path: dst, ID: s.Commit, Commit: s.Commit}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "clone-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// "--": a URL starting with "-" is a repository name, never an option.
	clone := execx.Cmd{Args: []string{"git", "clone", "--quiet", "--depth=1", "--branch", s.Tag, "--", s.Git, tmp}, Env: []string{"GIT_TERMINAL_PROMPT=0"}}
	if err := execx.RunLogged(ctx, f.Runner, clone, log); err != nil {
		return nil, &UnreachableError{Component: c.Name, URL: s.Git, Err: err}
	}
	got, err := headCommit(ctx, f.Runner, tmp)
	if err != nil {
		return nil, err
	}
	if got != s.Commit {
		return nil, &MismatchError{Component: c.Name, What: s.Git + " tag " + s.Tag, Want: s.Commit, Got: got}
	}
	if err := os.Rename(tmp, dst); err != nil {
		// Two components from the same commit fetch at once: the one
		// that renames second finds the other's verified clone there.
		if st, serr := os.Stat(dst); serr == nil && st.IsDir() {
			return &Fetched{Kind: "git", Path: dst, ID: s.Commit, Commit: s.Commit}, nil
		}
		return nil, fmt.Errorf("%s: store the clone of %s: %w", c.Name, s.Git, err)
	}
	return &Fetched{Kind: "git", Path: dst, ID: s.Commit, Commit: s.Commit}, nil
}

// fetchDir uses a local directory as is. If the spec pins a git commit and
// the directory is a checkout of another one, the build is refused: the
// package would claim a version it was not built from.
func (f *Fetcher) fetchDir(ctx context.Context, c *spec.Component, dir string, log io.Writer) (*Fetched, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("source directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("source directory %s: not a directory", dir)
	}
	tree, err := f.readDir(ctx, abs, f.dirExcludes(c, abs))
	if err != nil {
		return nil, fmt.Errorf("%s: hash %s: %w", c.Name, abs, err)
	}
	if tree.head != "" && c.Source.Commit != "" && tree.head != c.Source.Commit {
		return nil, &MismatchError{Component: c.Name, What: "checkout " + abs, Want: c.Source.Commit, Got: tree.head}
	}
	fe := &Fetched{Kind: "dir", Path: abs, Commit: cmp.Or(tree.head, c.Source.Commit), ID: tree.id}
	// A Go module tree builds offline (GOPROXY=off) only if its
	// dependencies are in the module cache: fetch them now, verified by
	// its go.sum, as for a go_module source.
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err == nil {
		if err := f.downloadDeps(ctx, c, fe, log); err != nil {
			return nil, err
		}
	}
	return fe, nil
}

// dirTree is what a run reads of a dir source: its checkout's HEAD (when
// it is one) and its hash.
type dirTree struct{ head, id string }

// readDir reads a dir source once per run, however many targets build
// it: the tree is hashed whole, and a run that packages it for four
// targets packages one state of it.
func (f *Fetcher) readDir(ctx context.Context, abs string, excludes []string) (dirTree, error) {
	key := abs + "\x00" + strings.Join(excludes, "\x00")
	f.dirsMu.Lock()
	defer f.dirsMu.Unlock()
	if t, ok := f.dirs[key]; ok {
		return t, nil
	}
	var t dirTree
	if _, err := os.Stat(filepath.Join(abs, ".git")); err == nil {
		if head, err := headCommit(ctx, f.Runner, abs); err == nil {
			t.head = head
		}
	}
	id, err := HashTree(abs, excludes...)
	if err != nil {
		return t, err
	}
	t.id = id
	if f.dirs == nil {
		f.dirs = map[string]dirTree{}
	}
	f.dirs[key] = t
	return t, nil
}

func headCommit(ctx context.Context, r execx.Runner, dir string) (string, error) {
	var out bytes.Buffer
	cmd := execx.Cmd{Args: []string{"git", "-c", "safe.directory=*", "-C", dir, "rev-parse", "HEAD"}}
	if err := r.Run(ctx, cmd, &out); err != nil {
		return "", fmt.Errorf("git rev-parse in %s: %w: %s", dir, err, strings.TrimSpace(out.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// dirExcludes are the paths of a dir source at src that are neither
// copied nor hashed: the spec's exclude list and debforge's own
// directories inside the tree.
func (f *Fetcher) dirExcludes(c *spec.Component, src string) []string {
	out := append([]string{}, c.Source.Exclude...)
	for _, p := range f.Private {
		out = append(out, inside(src, p)...)
	}
	return out
}

// inside returns p relative to dir when p is dir itself or below it (links
// resolved on both), else nothing.
func inside(dir, p string) []string {
	if p == "" {
		return nil
	}
	resolve := func(s string) string {
		abs, err := filepath.Abs(s)
		if err != nil {
			return s
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		// Not made yet (the copy's destination): resolve its parent.
		if r, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			return filepath.Join(r, filepath.Base(abs))
		}
		return abs
	}
	rel, err := filepath.Rel(resolve(dir), resolve(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil
	}
	return []string{rel}
}

// Prepare writes a fresh scratch copy of the source into dst (which must
// not exist or be empty) and applies the spec's patches in order.
func (f *Fetcher) Prepare(ctx context.Context, c *spec.Component, fe *Fetched, dst string, log io.Writer) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	var err error
	switch fe.Kind {
	case "go_module":
		err = f.unpack(ctx, "zip", fe.Path, dst, 0, c.Limits.UnpackedBytes(), log)
	case "tarball":
		err = f.unpack(ctx, "tar", fe.Path, dst, *c.Source.StripComponents, c.Limits.UnpackedBytes(), log)
	default:
		err = CopyTree(fe.Path, dst, append(f.dirExcludes(c, fe.Path), inside(fe.Path, dst)...)...)
	}
	if err != nil {
		return fmt.Errorf("unpack source: %w", err)
	}
	// An archive's own git metadata would make git apply read its config
	// (filters, hooks) and run its commands on the host: a source tree
	// never keeps any, as dir and git sources never copy it.
	if err := dropGitDirs(dst); err != nil {
		return err
	}
	if err := deleteBeneath(dst, c.Source.Delete); err != nil {
		return err
	}
	for _, p := range c.Source.Patches {
		abs, err := filepath.Abs(filepath.Join(c.Dir, p))
		if err != nil {
			return err
		}
		if err := execx.RunLogged(ctx, f.Runner, gitApply(abs, dst), log); err != nil {
			return fmt.Errorf("apply patch %s: %w", p, err)
		}
	}
	return nil
}

// gitApply applies patch in dir with git isolated from every
// configuration it could read: no system, global or environment config,
// no attributes file, no enclosing repository, and none of the invoking
// user's GIT_* variables (env -i). What the source tree holds is data
// only.
func gitApply(patch, dir string) execx.Cmd {
	return execx.Cmd{
		Args: []string{"env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "HOME=/nonexistent",
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_ATTR_NOSYSTEM=1",
			// Never let git find an enclosing repository and apply there.
			"GIT_CEILING_DIRECTORIES=" + filepath.Dir(dir),
			"git", "-c", "core.attributesFile=/dev/null", "apply", "--whitespace=nowarn", "-p1", patch},
		Dir: dir,
	}
}

// dropGitDirs removes every .git entry (a repository's metadata, or a
// gitfile pointing at one) from an unpacked source tree, without following
// links.
func dropGitDirs(dir string) error {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" && p != dir {
			found = append(found, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("unpacked source: %w", err)
	}
	for _, p := range found {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("unpacked source: drop %s: %w", p, err)
		}
	}
	return nil
}

// Unpacker extracts archive (kind "zip" or "tar", strip leading path
// elements of a tar) into the existing directory dst.
// maxBytes bounds the file content it writes (0: no limit).
type Unpacker func(ctx context.Context, kind, archive, dst string, strip int, maxBytes int64, log io.Writer) error

// Unpack is the extractor of this process: what an Unpacker runs.
func Unpack(kind, archive, dst string, strip int, maxBytes int64) error {
	switch kind {
	case "zip":
		return extractZip(archive, dst, maxBytes)
	case "tar":
		return extractTar(archive, dst, strip, maxBytes)
	}
	return fmt.Errorf("unknown archive kind %q (zip or tar)", kind)
}

func (f *Fetcher) unpack(ctx context.Context, kind, archive, dst string, strip int, maxBytes int64, log io.Writer) error {
	if f.Unpack != nil {
		return f.Unpack(ctx, kind, archive, dst, strip, maxBytes, log)
	}
	return Unpack(kind, archive, dst, strip, maxBytes)
}

// deleteBeneath removes source.delete paths, resolved beneath dst: a link
// on the way (vendor -> /some/host/dir) is an error, never followed. A
// link named itself is removed, not its target.
func deleteBeneath(dst string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, d := range paths {
		_, err := root.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("source.delete %s: %w (upstream moved it? update the spec)", d, err)
		}
		if err == nil {
			err = root.RemoveAll(d)
		}
		if err != nil {
			return fmt.Errorf("source.delete %s: %w (a link on the way leads out of the source tree; nothing outside it is touched)", d, err)
		}
	}
	return nil
}

// patchID identifies what the spec does to the source: the delete list
// and each patch's contents (not its name: an edited patch may need other
// dependencies, and a stale stamp would then fail the build under
// GOPROXY=off).
func patchID(c *spec.Component) (string, error) {
	h := sha256.New()
	for _, d := range c.Source.Delete {
		fmt.Fprintf(h, "delete %q\n", d)
	}
	for _, p := range c.Source.Patches {
		data, err := os.ReadFile(filepath.Join(c.Dir, p))
		if err != nil {
			return "", fmt.Errorf("source.patches: %w", err)
		}
		fmt.Fprintf(h, "patch %x\n", sha256.Sum256(data))
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

func stampName(s string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(s)))
}

// moduleInfo reads the commit and release time the proxy reported.
func moduleInfo(infoPath string) (string, time.Time) {
	data, err := os.ReadFile(infoPath)
	if err != nil {
		return "", time.Time{}
	}
	var info struct {
		Time   time.Time
		Origin struct{ Hash string }
	}
	if json.Unmarshal(data, &info) != nil {
		return "", time.Time{}
	}
	return info.Origin.Hash, info.Time
}

// escapePath applies the module cache's case encoding: "!" + lower case
// for every upper-case letter.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
