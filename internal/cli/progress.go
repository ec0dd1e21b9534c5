package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/debforge/debforge/internal/forge"
)

// progress prints one line per component per stage to stderr.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

func (p *progress) event(e forge.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := time.Since(p.start).Seconds()
	switch e.Stage {
	case forge.StageDone:
		cache := "built"
		if e.CacheHit {
			cache = "cached"
		}
		fmt.Fprintf(p.w, "[%6.1fs] %-28s done (%s, %.1fs)\n", t, e.Component, cache, e.Elapsed.Seconds())
	case forge.StageFailed, forge.StageSkipped:
		msg := ""
		if e.Err != nil {
			msg = strings.SplitN(e.Err.Error(), "\n", 2)[0]
		}
		fmt.Fprintf(p.w, "[%6.1fs] %-28s %s: %s\n", t, e.Component, e.Stage, msg)
	default:
		fmt.Fprintf(p.w, "[%6.1fs] %-28s %s\n", t, e.Component, e.Stage)
	}
}

// summary prints the final table.
func (p *progress) summary(results []forge.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCOMPONENT\tVERSION\tCACHE\tBUILD\tPACKAGE\tSIZE\tRESULT")
	failed := 0
	for _, r := range results {
		cache := "miss"
		if r.CacheHit {
			cache = "hit"
		}
		result := "ok"
		if r.Err != nil {
			result = "FAILED"
			if strings.Contains(r.Err.Error(), "skipped") {
				result = "skipped"
			}
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fs\t%.1fs\t%s\t%s\n", r.Component, r.Version, cache,
			r.BuildTime.Seconds(), r.PackageTime.Seconds(), size(r.Size), result)
	}
	tw.Flush()
	fmt.Fprintf(p.w, "%d components, %d failed, %.1fs\n", len(results), failed, time.Since(p.start).Seconds())
}

func size(n int64) string {
	switch {
	case n == 0:
		return "-"
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", float64(n)/1024)
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}
