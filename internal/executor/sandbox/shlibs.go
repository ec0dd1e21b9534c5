package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/execx"
)

// ShlibDepends runs dpkg-shlibdeps (through r, so inside the build root:
// the root's libraries decide the Depends) over the dynamically linked ELF
// files of the staging tree and returns what it computes, e.g.
// "libc6 (>= 2.34)". hostStage is the tree as this process sees it, stage
// as r's commands see it; hostDir/dir likewise name a scratch directory
// that only debforge writes (never one the build could plant links in).
// env is added to dpkg-shlibdeps' environment (DEB_HOST_ARCH for a cross
// build).
func ShlibDepends(ctx context.Context, r execx.Runner, hostStage, stage, hostDir, dir string, env []string, log io.Writer) ([]string, error) {
	var dyn []string
	err := filepath.WalkDir(hostStage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() && debian.LinksShared(p) {
			rel, _ := filepath.Rel(hostStage, p)
			dyn = append(dyn, filepath.Join(stage, rel))
		}
		return nil
	})
	if err != nil || len(dyn) == 0 {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(hostDir, "debian"), 0o755); err != nil {
		return nil, err
	}
	control := "Source: debforge-shlibs\n\nPackage: debforge-shlibs\nArchitecture: any\n"
	if err := os.WriteFile(filepath.Join(hostDir, "debian", "control"), []byte(control), 0o644); err != nil {
		return nil, err
	}
	args := []string{"dpkg-shlibdeps", "-O"}
	for _, p := range dyn {
		args = append(args, "-e"+p)
	}
	var out bytes.Buffer
	cmd := execx.Cmd{Args: args, Dir: dir, Env: env}
	fmt.Fprintf(log, "+ %s\n", cmd)
	if err := r.Run(ctx, cmd, io.MultiWriter(&out, log)); err != nil {
		return nil, &execx.CommandError{Cmd: cmd, Tail: out.String(), Err: err}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "shlibs:Depends="); ok {
			var deps []string
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					deps = append(deps, d)
				}
			}
			return deps, nil
		}
	}
	return nil, nil
}
