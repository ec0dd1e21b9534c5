// Command debforge builds Debian packages from upstream source and
// publishes them as a signed apt repository. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/debforge/debforge/internal/cli"
)

// exitGrace bounds how long debforge runs on after SIGINT or SIGTERM.
const exitGrace = 10 * time.Second

func main() {
	// nfpm holds each package's compressed payload in memory. A soft memory
	// limit makes the GC collect before the heap doubles, keeping peak RSS
	// well under 200 MB when packaging the whole stack. GOMEMLIMIT wins.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(120 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		// After the first signal a second one ends debforge at once, and
		// nothing may keep it alive longer than exitGrace: the run stops
		// its commands (their process groups get SIGTERM, then SIGKILL)
		// and unwinds well within that.
		stop()
		time.Sleep(exitGrace)
		fmt.Fprintf(os.Stderr, "debforge: error: still running %s after the signal; exiting\n", exitGrace)
		os.Exit(cli.ExitSignals)
	}()
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
