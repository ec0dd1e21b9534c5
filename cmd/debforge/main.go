// Command debforge builds Debian packages from upstream source and
// publishes them as a signed apt repository. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/debforge/debforge/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
