package buildkit

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// Solve runs p on the worker c is connected to and writes the final
// content of p.Export into out, a directory on debforge's host. The
// commands' output and one line per finished step go to log.
func Solve(ctx context.Context, c *client.Client, p Plan, out string, log io.Writer) error {
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

	status := make(chan *client.SolveStatus)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := c.Solve(ctx, def, client.SolveOpt{
			LocalMounts: mounts,
			Exports:     []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
		}, status)
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
