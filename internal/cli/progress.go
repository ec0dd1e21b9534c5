package cli

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/debforge/debforge/internal/forge"
)

// progress reports component events on stderr: on a terminal, one live
// line per running component, redrawn in place; otherwise one plain line
// per component per stage.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	live    bool
	running map[string]liveState
	drawn   int // lines of the live block currently on screen
	stop    chan struct{}
	// did is what a finished component's line says was done: "built"
	// (the default) or "fetched".
	did string
}

type liveState struct {
	stage   forge.Stage
	worker  string
	started time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now(), running: map[string]liveState{}}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb" {
			p.live = true
			p.stop = make(chan struct{})
			go p.tick()
		}
	}
	return p
}

func (p *progress) tick() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.redraw()
			p.mu.Unlock()
		}
	}
}

func (p *progress) event(e forge.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := time.Since(p.start).Seconds()
	var line string
	switch e.Stage {
	case forge.StageDone:
		cache := cmp.Or(p.did, "built")
		if e.CacheHit {
			cache = "cached"
		}
		line = fmt.Sprintf("[%6.1fs] %-28s done (%s, %.1fs)", t, e.Component, cache, e.Elapsed.Seconds())
	case forge.StageFailed, forge.StageSkipped, forge.StageCancelled:
		msg := ""
		if e.Err != nil {
			msg = firstLine(e.Err)
			// "skipped: skipped: needs x": the error already names the stage.
			msg = strings.TrimPrefix(msg, string(e.Stage)+": ")
		}
		line = fmt.Sprintf("[%6.1fs] %-28s %s: %s", t, e.Component, e.Stage, msg)
	default:
		line = fmt.Sprintf("[%6.1fs] %-28s %s", t, e.Component, e.Stage)
		if e.Worker != "" {
			line += " on " + e.Worker
		}
	}
	if !p.live {
		fmt.Fprintln(p.w, line)
		return
	}
	switch e.Stage {
	case forge.StageDone, forge.StageFailed, forge.StageSkipped, forge.StageCancelled:
		delete(p.running, e.Component)
		p.clear()
		fmt.Fprintln(p.w, line) // finished components scroll up as plain lines
	default:
		st, ok := p.running[e.Component]
		if !ok {
			st.started = time.Now()
		}
		st.stage, st.worker = e.Stage, e.Worker
		p.running[e.Component] = st
	}
	p.redraw()
}

// clear erases the live block.
func (p *progress) clear() {
	for ; p.drawn > 0; p.drawn-- {
		fmt.Fprint(p.w, "\x1b[1A\x1b[2K")
	}
}

// redraw shows one line per running component with its stage and time.
func (p *progress) redraw() {
	if !p.live {
		return
	}
	p.clear()
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st := p.running[n]
		on := ""
		if st.worker != "" {
			on = " on " + st.worker
		}
		fmt.Fprintf(p.w, "  %-28s %-8s %5.1fs%s\n", n, st.stage, time.Since(st.started).Seconds(), on)
	}
	p.drawn = len(names)
}

// summary prints the final table.
func (p *progress) summary(results []forge.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		close(p.stop)
		p.live = false
		p.clear()
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	// The WORKER column only when BuildKit workers built something.
	workers := slices.ContainsFunc(results, func(r forge.Result) bool { return r.Worker != "" })
	if workers {
		fmt.Fprintln(tw, "\nCOMPONENT\tVERSION\tCACHE\tBUILD\tPACKAGE\tSIZE\tRESULT\tWORKER")
	} else {
		fmt.Fprintln(tw, "\nCOMPONENT\tVERSION\tCACHE\tBUILD\tPACKAGE\tSIZE\tRESULT")
	}
	failed, skipped, cancelled := 0, 0, 0
	for _, r := range results {
		cache := "miss"
		if r.CacheHit {
			cache = "hit"
		} else if r.CompileShared {
			cache = "shared"
		}
		result := "ok"
		if r.Err != nil {
			switch {
			case errors.Is(r.Err, forge.ErrCancelled):
				result = "cancelled"
				cancelled++
			case errors.Is(r.Err, forge.ErrSkipped):
				result = "skipped"
				skipped++
			default:
				result = "FAILED"
				failed++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fs\t%.1fs\t%s\t%s", r.Component, r.Version, cache,
			r.BuildTime.Seconds(), r.PackageTime.Seconds(), size(r.Size), result)
		if workers {
			w := r.Worker
			if w == "" {
				w = "-"
			}
			fmt.Fprintf(tw, "\t%s", w)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, r := range results {
		for _, w := range r.Warnings {
			fmt.Fprintf(p.w, "debforge: warning: %s: %s\n", r.Component, w)
		}
	}
	// Skipped and cancelled components did not fail: they never ran.
	fmt.Fprintf(p.w, "%d components, %d failed, %d skipped", len(results), failed, skipped)
	if cancelled > 0 {
		fmt.Fprintf(p.w, ", %d cancelled", cancelled)
	}
	fmt.Fprintf(p.w, ", %.1fs\n", time.Since(p.start).Seconds())
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
