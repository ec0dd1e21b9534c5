package buildsite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/builders"
)

// Flags are the C flags of a build at this site: what the root's own
// dpkg-buildflags says for the target architecture with every hardening
// feature on, so a trixie build gets trixie's flags (stack clash and
// control-flow protection, -Werror=implicit-function-declaration) and a
// bookworm build bookworm's. The answer depends only on the root's
// package set, so it is asked once per root and architecture and kept.
func (s *Site) Flags(ctx context.Context, req builders.Request, log io.Writer) (builders.Flags, error) {
	cached := filepath.Join(s.cfg.CacheDir, "buildflags", s.root.Key[:16]+"-"+req.Arch+".txt")
	if data, err := os.ReadFile(cached); err == nil {
		if flags, err := builders.ParseBuildFlags(string(data)); err == nil {
			return flags, nil
		}
	}
	var out bytes.Buffer
	cmd := builders.BuildFlagsCommand(req.SrcDir, req.Arch)
	fmt.Fprintf(log, "+ %s\n", cmd)
	if err := s.sb.Run(ctx, cmd, &out); err != nil {
		return builders.Flags{}, fmt.Errorf("dpkg-buildflags in the build root: %w: %s", err, out.String())
	}
	flags, err := builders.ParseBuildFlags(out.String())
	if err != nil {
		return builders.Flags{}, err
	}
	fmt.Fprint(log, out.String())
	return flags, atomicfile.Write(cached, out.Bytes(), 0o644)
}
