// Package builders turns a source tree into a staging tree (DESTDIR). Each
// build kind lives in its own package and only plans commands; Run executes
// a plan through an execx.Runner, so plans can be tested without running.
package builders

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// Request is everything a builder needs. All paths are absolute.
type Request struct {
	Component *spec.Component // validated, defaults applied
	// SrcDir is a scratch copy of the source; builds may write in it.
	SrcDir string
	// StageDir is DESTDIR: the package's root filesystem.
	StageDir string
	// WorkDir is scratch space outside the source tree.
	WorkDir string
	// SrcDir, StageDir and WorkDir are the paths the planned commands see
	// (in a sandbox: stable paths such as /build/src). HostSrcDir and
	// HostStageDir are the same trees as this process sees them, for
	// reading before and after the commands run; empty means the same.
	HostSrcDir, HostStageDir string
	// Arch is the Debian architecture being built for.
	Arch string
	// BuildArch is the architecture of the machine running the build;
	// when set and not Arch, the build is a cross build (CrossEnv).
	BuildArch string
	// Env is added to every command (caches, SOURCE_DATE_EPOCH, ...).
	Env []string
	// Module is "module@version" when SrcDir is an unmodified copy of
	// that module from the module cache (no patches, no deletions, no
	// local override); empty otherwise. The go builder then builds from
	// the module cache so the binary's build info carries the version.
	Module string
	// Flags are the C compiler and linker flags of the target's release,
	// as its dpkg-buildflags gives them; nil: DefaultFlags.
	Flags *Flags
}

// Builder plans the commands of one build kind. Plan has no side effects.
type Builder interface {
	Kind() string
	Plan(req Request) ([]execx.Cmd, error)
}

// Registry is the explicit list of builders, built once by the caller.
type Registry struct {
	byKind map[string]Builder
}

// NewRegistry registers the given builders by their kinds.
func NewRegistry(bs ...Builder) *Registry {
	r := &Registry{byKind: map[string]Builder{}}
	for _, b := range bs {
		r.byKind[b.Kind()] = b
	}
	return r
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	kinds := make([]string, 0, len(r.byKind))
	for k := range r.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// Get returns the builder for kind.
func (r *Registry) Get(kind string) (Builder, error) {
	b, ok := r.byKind[kind]
	if !ok {
		return nil, fmt.Errorf("unknown builder %q (known: %s)", kind, strings.Join(r.Kinds(), ", "))
	}
	return b, nil
}

// Run executes b's plan for req, streaming output to log, then strips the
// staged ELF files.
func Run(ctx context.Context, r execx.Runner, b Builder, req Request, log io.Writer) error {
	cmds, err := b.Plan(req)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return RunPlanned(ctx, r, cmds, req, log)
}

// RunPlanned is Run for commands already planned for req.
func RunPlanned(ctx context.Context, r execx.Runner, cmds []execx.Cmd, req Request, log io.Writer) error {
	limits := req.Component.Limits
	for _, c := range cmds {
		if err := runStep(ctx, r, c, limits, log); err != nil {
			return err
		}
	}
	return StripELF(ctx, r, req.HostStage(), req.StageDir, StripProgram(req), log)
}

// runStep runs one build step within limits.step_time, and names the
// limit a failed step probably hit.
func runStep(ctx context.Context, r execx.Runner, c execx.Cmd, limits spec.Limits, log io.Writer) error {
	stepCtx, cancel := context.WithTimeout(ctx, limits.StepDuration())
	defer cancel()
	err := execx.RunLogged(stepCtx, r, c, log)
	switch {
	case err == nil:
		return nil
	case ctx.Err() == nil && errors.Is(stepCtx.Err(), context.DeadlineExceeded):
		return &LimitError{Err: err, Limit: "step_time", Value: limits.StepDuration().String(),
			What: "the step ran longer than"}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 127 {
		return &NotFoundError{Err: err}
	}
	tail := ""
	var ce *execx.CommandError
	if errors.As(err, &ce) {
		tail = ce.Tail
	}
	switch {
	case strings.Contains(tail, "Cannot allocate memory") || strings.Contains(tail, "out of memory") || strings.Contains(tail, "memory exhausted"):
		return &LimitError{Err: err, Limit: "memory", Value: spec.FormatBytes(limits.MemoryBytes()),
			What: "a process may have run out of its memory limit,"}
	case strings.Contains(tail, "Resource temporarily unavailable"):
		return &LimitError{Err: err, Limit: "processes", Value: strconv.Itoa(limits.ProcessCount()),
			What: "the build may have run out of processes:"}
	}
	return err
}

// NotFoundError is a build step that exited 127: the shell found no such
// command in the build root.
type NotFoundError struct{ Err error }

func (e *NotFoundError) Error() string { return "a command was not found (exit 127): " + e.Err.Error() }

func (e *NotFoundError) Unwrap() error { return e.Err }

// Hint names the usual cause.
func (e *NotFoundError) Hint() string {
	return "add the Debian package that provides it to build.build_depends (apt-file search bin/NAME finds it)"
}

// LimitError is a build step that hit (or probably hit) one of its
// spec's limits.
type LimitError struct {
	Err          error
	Limit, Value string
	What         string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s limits.%s (%s): %v", e.What, e.Limit, e.Value, e.Err)
}

func (e *LimitError) Unwrap() error { return e.Err }

// Hint says how to raise the limit.
func (e *LimitError) Hint() string {
	return fmt.Sprintf("if the build really needs more, raise it in the spec: limits: {%s: ...}", e.Limit)
}

// StripProgram is the strip that understands req.Arch's objects: the
// cross binutils' (aarch64-linux-gnu-strip) in a cross build, since the
// build machine's strip does not know the target's ELF machine.
func StripProgram(req Request) string {
	if req.IsCross() {
		if t, err := debian.TripletOf(req.Arch); err == nil {
			return t + "-strip"
		}
	}
	return "strip"
}

// HostSrc is the source tree as this process sees it.
func (req Request) HostSrc() string { return cmp.Or(req.HostSrcDir, req.SrcDir) }

// HostStage is DESTDIR as this process sees it.
func (req Request) HostStage() string { return cmp.Or(req.HostStageDir, req.StageDir) }

// StripELF strips debugging symbols from every ELF file in dir that still
// has a symbol table (lintian: unstripped-binary-or-object). dir is read
// here; the strip command, run through r, sees the same tree at cmdDir.
func StripELF(ctx context.Context, r execx.Runner, dir, cmdDir, strip string, log io.Writer) error {
	var targets []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if debian.HasSymbols(path) {
			rel, _ := filepath.Rel(dir, path)
			targets = append(targets, filepath.Join(cmdDir, rel))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("strip: %w", err)
	}
	if len(targets) == 0 {
		return nil
	}
	args := append([]string{strip, "--strip-unneeded", "--remove-section=.comment", "--remove-section=.note"}, targets...)
	return execx.RunLogged(ctx, r, execx.Cmd{Args: args}, log)
}

// ExpandAll expands templates in each string.
func ExpandAll(in []string, d spec.TemplateData) ([]string, error) {
	out := make([]string, len(in))
	for i, s := range in {
		v, err := spec.Expand(s, d)
		if err != nil {
			return nil, fmt.Errorf("expand %q: %w", s, err)
		}
		out[i] = v
	}
	return out, nil
}

// EnvList renders a map as sorted KEY=VALUE entries, expanding templates.
func EnvList(m map[string]string, d spec.TemplateData) ([]string, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		v, err := spec.Expand(m[k], d)
		if err != nil {
			return nil, fmt.Errorf("expand %s: %w", k, err)
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// Flags are the compiler and linker flags of a build: the target
// release's dpkg-buildflags (hardening=+all), whose -ffile-prefix-map
// keeps the scratch path out of the objects (reproducible builds).
type Flags struct{ CFLAGS, CPPFLAGS, CXXFLAGS, LDFLAGS string }

// DefaultFlags are bookworm's flags for a build in srcDir, for a build
// whose root's dpkg-buildflags was not asked (tests, old callers).
func DefaultFlags(srcDir string) Flags {
	cflags := "-g -O2 -ffile-prefix-map=" + srcDir + "=. -fstack-protector-strong -Wformat -Werror=format-security"
	return Flags{
		CFLAGS:   cflags,
		CPPFLAGS: "-Wdate-time -D_FORTIFY_SOURCE=2",
		CXXFLAGS: cflags,
		LDFLAGS:  "-Wl,-z,relro -Wl,-z,now",
	}
}

// BuildFlags are the flags of req: its target's, else DefaultFlags.
func (req Request) BuildFlags() Flags {
	if req.Flags != nil {
		return *req.Flags
	}
	return DefaultFlags(req.SrcDir)
}

// CFlagsEnv returns the build flags as environment entries.
func (req Request) CFlagsEnv() []string {
	f := req.BuildFlags()
	return []string{"CFLAGS=" + f.CFLAGS, "CPPFLAGS=" + f.CPPFLAGS, "CXXFLAGS=" + f.CXXFLAGS, "LDFLAGS=" + f.LDFLAGS}
}

// BuildFlagsCommand prints the flags dpkg-buildflags gives a build in
// srcDir for arch (every hardening feature on), one NAME=value a line:
// run in the target's root, it is that release's own answer.
func BuildFlagsCommand(srcDir, arch string) execx.Cmd {
	return execx.Cmd{
		Args: []string{"sh", "-c", `for v in CFLAGS CPPFLAGS CXXFLAGS LDFLAGS; do printf '%s=%s\n' "$v" "$(dpkg-buildflags --get "$v")"; done`},
		Dir:  srcDir,
		Env:  []string{"DEB_BUILD_MAINT_OPTIONS=hardening=+all", "DEB_HOST_ARCH=" + arch},
	}
}

// ParseBuildFlags reads BuildFlagsCommand's output.
func ParseBuildFlags(out string) (Flags, error) {
	var f Flags
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "CFLAGS":
			f.CFLAGS = v
		case "CPPFLAGS":
			f.CPPFLAGS = v
		case "CXXFLAGS":
			f.CXXFLAGS = v
		case "LDFLAGS":
			f.LDFLAGS = v
		default:
			continue
		}
		seen++
	}
	if seen != 4 || f.CFLAGS == "" || f.LDFLAGS == "" {
		return Flags{}, fmt.Errorf("dpkg-buildflags gave no CFLAGS or LDFLAGS: %q", out)
	}
	return f, nil
}

// CTemplate is the component's template data with the hardening flags
// filled in, for a Makefile that assigns its own CFLAGS and so ignores
// the environment: build.vars: {CFLAGS: "{{.CFLAGS}} -Wall"}.
func CTemplate(req Request) spec.TemplateData {
	d := req.Component.Template()
	f := req.BuildFlags()
	d.CFLAGS, d.CPPFLAGS, d.LDFLAGS = f.CFLAGS, f.CPPFLAGS, f.LDFLAGS
	return d
}
