package buildrecord

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/packaging"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/toolchain"
)

// WriteBuildInfo records how deb was built beside it: the root's exact
// package set, the toolchain, the environment.
func WriteBuildInfo(deb string, c *spec.Component, target buildroot.Target, tc *toolchain.Toolchain, root *buildroot.Root, env []string, mtime time.Time) error {
	base := strings.TrimSuffix(filepath.Base(deb), ".deb")
	arch := base[strings.LastIndex(base, "_")+1:]
	if root == nil { // a meta-package: built in no root, from nothing
		root = &buildroot.Root{}
	}
	installed := make([]string, 0, len(root.Packages))
	for _, p := range root.Packages {
		name := p.Name
		if p.Arch != "all" && p.Arch != target.Arch {
			name += ":" + p.Arch
		}
		installed = append(installed, name+" (= "+p.Version+")")
	}
	extra := map[string]string{"X-Debforge-Target": target.String()}
	if root.Key != "" {
		extra["X-Debforge-Root-Key"], extra["X-Debforge-Root-Sha256"] = root.Key, root.TarSHA256
	}
	if len(root.Depends) > 0 {
		extra["X-Debforge-Root-Depends"] = strings.Join(root.Depends, ", ")
	}
	if tc != nil {
		extra["X-Debforge-Go-Toolchain"] = "go" + tc.Version + " " + tc.Sum
	}
	return packaging.WriteBuildInfo(deb, packaging.BuildInfo{
		Source: c.Name, Binary: c.PackageName(), Architecture: arch, Version: c.DebVersion(),
		BuildArch: target.Arch, Date: mtime, Installed: installed, Environment: env, Extra: extra,
	})
}
