// Package buildrecord writes what debforge records beside each package
// it builds: the SPDX SBOM (its source, Go modules and linked Debian
// packages) and the .buildinfo (the root's exact package set, the
// toolchain, the environment).
package buildrecord

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/packaging/sbom"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
)

// WriteSBOM writes the SPDX document of deb beside it: its source as
// fetched and verified, the Go modules in the staged binaries, and the
// Debian packages they link against (shlibs Depends for shared
// libraries; the -dev build dependencies for a static cgo binary, at
// their versions in root).
func WriteSBOM(c *spec.Component, fe *source.Fetched, root *buildroot.Root, deb, stageDir string, shlibs []string, mtime time.Time) error {
	base := strings.TrimSuffix(filepath.Base(deb), ".deb")
	linked, err := sbom.ParseDepends(shlibs)
	if err != nil {
		return fmt.Errorf("sbom of %s: %w", deb, err)
	}
	in := sbom.Input{
		Deb: deb, Package: c.PackageName(), Version: c.DebVersion(), Arch: base[strings.LastIndex(base, "_")+1:],
		Summary: c.Summary, License: c.License, Homepage: c.Homepage, Supplier: c.Maintainer,
		Source: sbomSource(c, fe), Linked: linkedVersions(linked, root, base[strings.LastIndex(base, "_")+1:]), Created: mtime,
	}
	if stageDir != "" {
		mods, err := sbom.GoModules(stageDir)
		if err != nil {
			return err
		}
		in.Modules = mods
		if sbom.HasStaticCgo(stageDir) {
			in.Linked = append(in.Linked, staticLibs(c, root)...)
		}
	}
	_, err = sbom.Write(in)
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
		s.SHA256 = c.Source.SHA256
		if _, local := source.LocalTarball(c); !local {
			// A local file's path means nothing to the SBOM's reader: the
			// location stays NOASSERTION, the sha256 says what it was.
			s.URL = c.Source.Tarball
		}
	case "git":
		s.URL = c.Source.Git
	}
	return s
}

// linkedVersions gives each library the binaries load at run time the
// version of its package (of the package's architecture arch) in the
// build root they were linked against.
func linkedVersions(ls []sbom.Linked, root *buildroot.Root, arch string) []sbom.Linked {
	if root == nil {
		return ls
	}
	for i := range ls {
		for _, p := range root.Packages {
			if p.Name == ls[i].Package && (p.Arch == arch || p.Arch == "all") {
				ls[i].Version = p.Version
				break
			}
		}
	}
	return ls
}

var devPackage = regexp.MustCompile(`^lib[a-z0-9.+-]+-dev$`)

// staticLibs are the library -dev packages among the build dependencies,
// with their versions in the build root the binary was linked in (never
// the host's: build dependencies are installed in roots only). A cross
// build's NAME:ARCH dependency takes the version of that architecture's
// package; a plain NAME the root's own architecture's. A -dev package
// the root lacks gets no version.
func staticLibs(c *spec.Component, root *buildroot.Root) []sbom.Linked {
	var out []sbom.Linked
	for _, d := range c.Build.BuildDepends {
		name, arch, cross := strings.Cut(d, ":")
		if !devPackage.MatchString(name) {
			continue
		}
		if !cross && root != nil {
			arch = root.Target.Arch
		}
		l := sbom.Linked{Package: name, Static: true}
		if root != nil {
			for _, p := range root.Packages {
				if p.Name == name && (p.Arch == arch || p.Arch == "all") {
					l.Constraint = p.Version
					break
				}
			}
		}
		out = append(out, l)
	}
	return out
}
