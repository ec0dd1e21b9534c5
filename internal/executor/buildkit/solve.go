package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/debforge/debforge/internal/filelock"
)

// Solve runs p on the worker c is connected to and writes the final
// content of p.Export into out, a directory on debforge's host. The
// commands' output and one line per finished step go to log. With a
// cache, the build's layers (all of them, mode=max) are imported from it
// and exported to it, so that another worker with an empty state reuses
// them.
func Solve(ctx context.Context, c *client.Client, p Plan, out string, cache Cache, log io.Writer) error {
	def, err := Definition(ctx, p)
	if err != nil {
		return err
	}
	mounts, names, err := p.localMounts()
	if err != nil {
		return err
	}
	store, err := p.rootStore()
	if err != nil {
		return fmt.Errorf("buildkit %s: %w", p.Name, err)
	}
	defer os.RemoveAll(store.dir)

	if cache.Dir != "" {
		// One store per entry, and one writer per store: two solves that
		// export the same blob (the root's layer) into one local store at
		// once collide on its ingest, in this process or another machine's.
		// A registry takes concurrent pushes of one blob itself.
		unlock, err := filelock.Wait(ctx, filepath.Join(cache.Dir, p.CacheTag()+".lock"), syscall.LOCK_EX, "BuildKit cache lock", nil)
		if err != nil {
			return fmt.Errorf("buildkit %s: cache %s: %w", p.Name, cache.Dir, err)
		}
		defer unlock()
	}
	status := make(chan *client.SolveStatus)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		opt := client.SolveOpt{
			LocalMounts: mounts,
			OCIStores:   map[string]content.Store{RootStore: store.Store},
			Exports:     []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
		}
		opt.CacheExports, opt.CacheImports = p.cacheOptions(cache)
		_, err := c.Solve(ctx, def, opt, status)
		return err
	})
	g.Go(func() error {
		logStatus(status, log)
		return nil
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("buildkit %s (locals %v): %w", p.Name, names, err)
	}
	return nil
}

// localMounts opens the plan's locals, and lists their names sorted.
func (p Plan) localMounts() (map[string]fsutil.FS, []string, error) {
	mounts := map[string]fsutil.FS{}
	names := []string{}
	for name, dir := range p.Locals() {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("buildkit %s: local %s: %w", p.Name, name, err)
		}
		mounts[name] = fs
		names = append(names, name)
	}
	sort.Strings(names)
	return mounts, names, nil
}

// cacheOptions are the solve's cache exports and imports: all layers
// (mode=max) to a local directory per plan, imported once it exists, or to
// a registry tag (a tag not pushed yet is an import BuildKit skips).
func (p Plan) cacheOptions(cache Cache) (exports, imports []client.CacheOptionsEntry) {
	switch {
	case cache.Dir != "":
		dir := filepath.Join(cache.Dir, p.CacheTag())
		exports = []client.CacheOptionsEntry{{Type: "local", Attrs: map[string]string{"dest": dir, "mode": "max"}}}
		if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
			imports = []client.CacheOptionsEntry{{Type: "local", Attrs: map[string]string{"src": dir}}}
		}
	case cache.Ref != "":
		ref := cache.Ref + ":" + p.CacheTag()
		exports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": ref, "mode": "max"}}}
		imports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": ref}}}
	}
	return exports, imports
}

// logStatus writes the commands' output and one line per finished step
// of a solve's status stream to log, until the stream ends.
func logStatus(status chan *client.SolveStatus, log io.Writer) {
	done := map[string]bool{}
	for s := range status {
		for _, l := range s.Logs {
			log.Write(l.Data)
		}
		for _, v := range s.Vertexes {
			if v.Completed == nil || done[v.Digest.String()] {
				continue
			}
			done[v.Digest.String()] = true
			state := fmt.Sprintf("%.1fs", v.Completed.Sub(*orNow(v.Started, v.Completed)).Seconds())
			if v.Cached {
				state = "cached"
			}
			if v.Error != "" {
				state = "failed: " + v.Error
			}
			fmt.Fprintf(log, "buildkit: %s: %s\n", v.Name, state)
		}
	}
}

func orNow[T any](p, fallback *T) *T {
	if p == nil {
		return fallback
	}
	return p
}

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// CacheTag names p's store in a shared cache directory: one per
// component, architecture and root, so that builds running at once on
// several workers never write the same store.
func (p Plan) CacheTag() string {
	key := p.RootKey
	if len(key) > 16 {
		key = key[:16]
	}
	tag := tagUnsafe.ReplaceAllString("debforge-"+p.Name+"-"+p.Arch+"-"+key, "_")
	if len(tag) > 128 {
		tag = tag[:128]
	}
	return tag
}

// Cache is where a solve imports and exports its layers: a local
// directory shared by the build machines (Dir), or a registry repository
// (Ref, without a tag). Zero: no cache beyond the worker's own.
type Cache struct {
	Dir, Ref string
}

// rootContent is a content store that holds the plan's blobs (the root
// tarball, the trees') by hash: a directory of its own with
// blobs/sha256/HASH linked to each.
type rootContent struct {
	content.Store
	dir string
}

func (p Plan) rootStore() (rootContent, error) {
	dir, err := os.MkdirTemp("", "debforge-root-store-")
	if err != nil {
		return rootContent{}, err
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		os.RemoveAll(dir)
		return rootContent{}, err
	}
	for _, b := range p.blobs() {
		err := os.Symlink(b.Tar, filepath.Join(blobs, b.SHA256))
		if err != nil && !errors.Is(err, fs.ErrExist) { // one tarball twice
			os.RemoveAll(dir)
			return rootContent{}, err
		}
	}
	st, err := local.NewStore(dir)
	if err != nil {
		os.RemoveAll(dir)
		return rootContent{}, fmt.Errorf("root content store: %w", err)
	}
	return rootContent{st, dir}, nil
}
