package forge

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/packaging/sbom"
)

// writeSBOM writes the SPDX document of deb beside it: its source as
// fetched and verified, the Go modules in the staged binaries, and the
// Debian packages they link against (shlibs Depends for shared
// libraries; the -dev build dependencies for a static cgo binary).
func (f *Forge) writeSBOM(ctx context.Context, c *spec.Component, fe *source.Fetched, deb, stageDir string, shlibs []string, mtime time.Time) error {
	base := strings.TrimSuffix(filepath.Base(deb), ".deb")
	in := sbom.Input{
		Deb: deb, Package: c.PackageName(), Version: c.DebVersion(), Arch: base[strings.LastIndex(base, "_")+1:],
		Summary: c.Summary, License: c.License, Homepage: c.Homepage, Supplier: c.Maintainer,
		Source: sbomSource(c, fe), Linked: sbom.ParseDepends(shlibs), Created: mtime,
	}
	if stageDir != "" {
		mods, err := sbom.GoModules(stageDir)
		if err != nil {
			return err
		}
		in.Modules = mods
		if sbom.HasStaticCgo(stageDir) {
			in.Linked = append(in.Linked, f.staticLibs(ctx, c)...)
		}
	}
	_, err := sbom.Write(in)
	return err
}

func sbomSource(c *spec.Component, fe *source.Fetched) *sbom.Source {
	if fe == nil || c.Source == nil {
		return nil
	}
	s := &sbom.Source{Kind: fe.Kind, Name: c.Name, Version: c.Version, Commit: fe.Commit}
	switch fe.Kind {
	case "go_module":
		s.Module, s.Version, _ = strings.Cut(c.Source.GoModule, "@")
		s.Sum = c.Source.Sum
	case "tarball":
		s.URL, s.SHA256 = c.Source.Tarball, c.Source.SHA256
	case "git":
		s.URL = c.Source.Git
	}
	return s
}

var devPackage = regexp.MustCompile(`^lib[a-z0-9.+-]+-dev$`)

// staticLibs are the library -dev packages among the build dependencies,
// with their installed versions: a static cgo binary carries their code.
func (f *Forge) staticLibs(ctx context.Context, c *spec.Component) []sbom.Linked {
	var out []sbom.Linked
	for _, p := range c.Build.BuildDepends {
		if !devPackage.MatchString(p) {
			continue
		}
		var v bytes.Buffer
		_ = f.runner.Run(ctx, execx.Cmd{Args: []string{"dpkg-query", "-W", "-f=${Version}", p}}, &v)
		out = append(out, sbom.Linked{Package: p, Constraint: strings.TrimSpace(v.String()), Static: true})
	}
	return out
}
