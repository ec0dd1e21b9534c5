// Package gobuild builds Go main packages with "go build".
package gobuild

import (
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/builders"
	"github.com/debforge/debforge/internal/execx"
)

// Builder is the "go" kind.
type Builder struct{}

var _ builders.Builder = (*Builder)(nil)

// New returns the go builder.
func New() *Builder { return &Builder{} }

// Kind implements builders.Builder.
func (*Builder) Kind() string { return "go" }

// Plan returns one "go build" per binary. Every build is -trimpath with
// stripped symbols, so output is reproducible and lean.
func (*Builder) Plan(req builders.Request) ([]execx.Cmd, error) {
	c := req.Component
	b := c.Build
	data := c.Template()
	env, err := builders.EnvList(b.Env, data)
	if err != nil {
		return nil, err
	}
	// A cross build names its GOARCH; cgo then needs the cross C
	// toolchain too. A native build's environment stays as it was.
	var cross []string
	if req.IsCross() {
		goarch, err := builders.GoArch(req.Arch)
		if err != nil {
			return nil, err
		}
		cross = append(cross, "GOARCH="+goarch)
	}
	crossC, err := builders.CrossEnv(req)
	if err != nil {
		return nil, err
	}
	var cmds []execx.Cmd
	for _, bin := range b.Binaries {
		cgo := b.Cgo != nil && *b.Cgo
		if bin.Cgo != nil {
			cgo = *bin.Cgo
		}
		tags := b.Tags
		if bin.Tags != nil {
			tags = bin.Tags
		}
		flags := b.Ldflags
		if bin.Ldflags != nil {
			flags = bin.Ldflags
		}
		flags, err := builders.ExpandAll(flags, data)
		if err != nil {
			return nil, err
		}
		// -s -w strip symbols and DWARF. The Go build id stays: it is
		// content-derived (stable under -trimpath) and lintian recognises
		// Go binaries by its note.
		ldflags := append([]string{"-s", "-w"}, flags...)
		args := []string{"go", "build", "-trimpath", "-buildvcs=false", "-mod=readonly"}
		cmdEnv := append(append([]string{}, req.Env...), cross...)
		if cgo {
			cmdEnv = append(cmdEnv, crossC...)
			cmdEnv = append(cmdEnv, "CGO_ENABLED=1",
				"CGO_CFLAGS=-O2 -g -ffile-prefix-map="+req.SrcDir+"=.",
				"CGO_LDFLAGS=-Wl,-z,relro -Wl,-z,now")
			if bin.Static {
				args = append(args, "-buildmode=pie")
				ldflags = append(ldflags, "-linkmode", "external", "-extldflags", "-static-pie")
			}
		} else {
			cmdEnv = append(cmdEnv, "CGO_ENABLED=0")
		}
		cmdEnv = append(cmdEnv, env...)
		if len(tags) > 0 {
			args = append(args, "-tags", strings.Join(tags, ","))
		}
		args = append(args, "-ldflags", strings.Join(ldflags, " "),
			"-o", filepath.Join(req.StageDir, bin.Dst), bin.Main)
		cmds = append(cmds, execx.Cmd{Args: args, Dir: req.SrcDir, Env: cmdEnv})
	}
	return cmds, nil
}
