package buildkit

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"

	"github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/debforge/debforge/internal/filelock"
)

// Solve runs p on the worker c is connected to and writes the final
// content of p.Export into out, a directory on debforge's host. The
// commands' output and one line per finished step go to log. With
// cacheDir, the build's layers are imported from and exported to that
// local cache directory (BuildKit's type=local cache, all layers), so
// that another worker with an empty state reuses them.
func Solve(ctx context.Context, c *client.Client, p Plan, out, cacheDir string, log io.Writer) error {
	def, err := Definition(ctx, p)
	if err != nil {
		return err
	}
	mounts := map[string]fsutil.FS{}
	names := []string{}
	for name, dir := range p.Locals() {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return fmt.Errorf("buildkit %s: local %s: %w", p.Name, name, err)
		}
		mounts[name] = fs
		names = append(names, name)
	}
	sort.Strings(names)

	if cacheDir != "" {
		// One store per entry, and one writer per store: two solves that
		// export the same blob (the root's layer) into one local store at
		// once collide on its ingest, in this process or another machine's.
		unlock, err := filelock.Wait(ctx, filepath.Join(cacheDir, p.CacheTag()+".lock"), syscall.LOCK_EX, "BuildKit cache lock", nil)
		if err != nil {
			return fmt.Errorf("buildkit %s: cache %s: %w", p.Name, cacheDir, err)
		}
		defer unlock()
	}
	status := make(chan *client.SolveStatus)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		opt := client.SolveOpt{
			LocalMounts: mounts,
			Exports:     []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
		}
		if cacheDir != "" {
			dir := filepath.Join(cacheDir, p.CacheTag())
			opt.CacheExports = []client.CacheOptionsEntry{{Type: "local", Attrs: map[string]string{"dest": dir, "mode": "max"}}}
			if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
				opt.CacheImports = []client.CacheOptionsEntry{{Type: "local", Attrs: map[string]string{"src": dir}}}
			}
		}
		_, err := c.Solve(ctx, def, opt, status)
		return err
	})
	g.Go(func() error {
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
		return nil
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("buildkit %s (locals %v): %w", p.Name, names, err)
	}
	return nil
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
