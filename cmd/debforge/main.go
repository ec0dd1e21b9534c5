// Command debforge builds Debian packages from upstream source and
// publishes them as a signed apt repository. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/debforge/debforge/internal/cli"
)

func main() {
	// nfpm holds each package's compressed payload in memory. A soft memory
	// limit makes the GC collect before the heap doubles, keeping peak RSS
	// well under 200 MB when packaging the whole stack. GOMEMLIMIT wins.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(120 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
