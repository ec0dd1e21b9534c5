package pkgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/debforge/debforge/internal/execx"
)

// Uninstallable asks apt's resolver, for each of pkgs (name=version),
// whether it installs on a clean root of t from t's release and the
// suite index would publish (a Packages file), as Debian's
// dose-distcheck asks of a suite. It returns apt's account of the
// unmet relations of each that does not, by name=version.
//
// This host's apt only simulates: it reads the clean root's package set,
// sources and keys, and writes its lists and cache beside the root, so
// no root is changed and nothing runs under emulation.
func (tr *Tester) Uninstallable(ctx context.Context, t Target, index []byte, pkgs []string, log io.Writer) (map[string]string, error) {
	base, err := tr.Roots.Ensure(ctx, t.Target, nil, log)
	if err != nil {
		return nil, fmt.Errorf("installability on %s: clean root: %w", t, err)
	}
	dir, err := tr.workDir("installable-", t)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The suite as it would be published, unsigned: apt only reads it to
	// resolve, and downloads nothing from it.
	source := fmt.Sprintf("Types: deb\nURIs: file:%s\nSuites: ./\nTrusted: yes\n", dir)
	apt, env, err := readOnlyApt(dir, base.FS, t, map[string][]byte{"Packages": index, "sources/suite.sources": []byte(source)})
	if err != nil {
		return nil, err
	}
	apt = append(apt, "-o", "APT::Install-Recommends=false", "-o", "Debug::NoLocking=true")
	if err := execx.RunLogged(ctx, tr.Runner, execx.Cmd{Args: append(apt, "update", "-q"), Env: env}, log); err != nil {
		return nil, fmt.Errorf("installability on %s: apt-get update: %w", t, err)
	}
	out := map[string]string{}
	for _, p := range pkgs {
		var buf bytes.Buffer
		err := execx.RunLogged(ctx, tr.Runner, execx.Cmd{Args: append(apt, "install", "-s", "-q", p), Env: env}, io.MultiWriter(log, &buf))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			out[p] = unmet(buf.String())
		}
	}
	return out, nil
}

// unmet picks apt's list of unmet dependencies out of its output (all
// of it when apt failed another way).
func unmet(out string) string {
	_, rest, ok := strings.Cut(out, "The following packages have unmet dependencies:\n")
	if !ok {
		return strings.TrimSpace(out)
	}
	var lines []string
	for _, l := range strings.Split(rest, "\n") {
		if strings.HasPrefix(l, "E:") || strings.TrimSpace(l) == "" {
			break
		}
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "; ")
}
