// Package buildkit is debforge's second executor: it lowers the same
// build plan the local sandbox runs (a build root, binds, an environment,
// commands as data) to one BuildKit LLB definition, so that a BuildKit
// worker, local or remote, can run it.
//
// The lowering keeps the sandbox's promises: every command runs as the
// unprivileged build uid with network none, the root read-only, a fresh
// /tmp, only the plan's writable directories writable, and nothing of the
// worker's own environment (buildkitd adds OTEL_* and a random
// TRACEPARENT to each exec, which would make builds differ). The result
// names no host path: locals are named after sandbox paths, and debforge
// maps them to host directories only when it solves.
package buildkit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/debforge/debforge/internal/executor"
	"github.com/debforge/debforge/internal/execx"
)

// Plan is one build for a BuildKit worker: the local sandbox's inputs
// plus what BuildKit needs to name and cache them.
type Plan struct {
	// Name is the component; it names the definition's locals.
	Name string
	// Job holds the binds, environment and build ids, exactly as the
	// local executor gets them. Its Root is not used: RootTar is.
	Job *executor.Job
	// RootTar is the build root's cached tarball; the worker unpacks it,
	// which is faster than sending the unpacked tree (and keeps its owners).
	RootTar string
	// RootSHA256 is RootTar's recorded hash (hex). The worker asks for the
	// tarball by it, as a content-addressed blob: a worker whose cache
	// (its own, or one imported) already has the unpacked root is never
	// sent the tarball at all, and one that is sent it checks the hash.
	RootSHA256 string
	// RootLayer, for a root derived from a base, is the tarball of what
	// the derivation added (RootTar is then the base's): the worker
	// unpacks it over the base and removes RootDeleted, so a worker that
	// has the base is sent only the layer.
	RootLayer Blob
	// RootDeleted are the base's paths the derived root lacks.
	RootDeleted []string
	// RootKey is the root's content key.
	RootKey string
	// GoCache names the worker's persistent Go build cache for this build:
	// the same name as the host's cache directory, one per component (and
	// per root where cgo may run), so no component's build writes what
	// another's links.
	GoCache string
	// Arch is the target's Debian architecture.
	Arch string
	// Cmds run in order.
	Cmds []execx.Cmd
	// Export is the sandbox path (a writable bind) whose final content the
	// worker sends back: DESTDIR.
	Export string
	// Caches are writable bind paths that become BuildKit cache mounts
	// instead of directories sent from the host (the Go build cache).
	Caches []string
	// Trees are read-only binds, by sandbox path, that reach the worker
	// as the root does: a tarball of the bind's tree asked for by hash
	// (the Go toolchain). A local would be sent whole, to checksum, to
	// every worker on every build.
	Trees map[string]Blob
}

// Blob is a tarball and its sha256 (hex).
type Blob struct {
	Tar, SHA256 string
}

func (b Blob) check(what string) error {
	switch {
	case !filepath.IsAbs(b.Tar) || !strings.HasSuffix(b.Tar, ".tar"):
		return fmt.Errorf("%s tarball %q: want an absolute path to a .tar", what, b.Tar)
	case !sha256Hex.MatchString(b.SHA256):
		return fmt.Errorf("%s tarball hash %q: want the tarball's sha256 in hex", what, b.SHA256)
	}
	return nil
}

// blobs are every tarball the solve's content store serves.
func (p Plan) blobs() []Blob {
	out := []Blob{{p.RootTar, p.RootSHA256}}
	if p.RootLayer != (Blob{}) {
		out = append(out, p.RootLayer)
	}
	for _, path := range slices.Sorted(maps.Keys(p.Trees)) {
		out = append(out, p.Trees[path])
	}
	return out
}

// Local names the plan's locals after sandbox paths, never host ones.
func localName(p string) string {
	return "bind" + strings.ReplaceAll(p, "/", "-")
}

// RootStore is the ID of the solve's content store that holds the root
// tarball and the trees' (Plan.blobs).
const RootStore = "debforge-roots"

// Platform maps a Debian architecture to its OCI platform.
func Platform(debArch string) (ocispecs.Platform, error) {
	p := ocispecs.Platform{OS: "linux"}
	switch debArch {
	case "amd64", "arm64", "riscv64", "s390x":
		p.Architecture = debArch
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v5"
	case "i386":
		p.Architecture = "386"
	case "ppc64el":
		p.Architecture = "ppc64le"
	default:
		return p, fmt.Errorf("no OCI platform for Debian architecture %q", debArch)
	}
	return p, nil
}

// Locals maps each local of p's definition to the host directory it
// comes from, for the solve's LocalMounts.
func (p Plan) Locals() map[string]string {
	m := map[string]string{}
	for _, b := range p.Job.Binds {
		if _, tree := p.Trees[b.Path]; !p.isCache(b.Path) && !tree {
			m[localName(b.Path)] = b.Host
		}
	}
	return m
}

func (p Plan) isCache(dst string) bool {
	for _, c := range p.Caches {
		if c == dst {
			return true
		}
	}
	return false
}

func (p Plan) check() error {
	switch {
	case p.Name == "" || strings.ContainsAny(p.Name, "/ \t\n"):
		return fmt.Errorf("plan name %q: want a component name", p.Name)
	case p.Job == nil:
		return errors.New("plan has no job (binds, environment, build ids)")
	case p.RootKey == "":
		return errors.New("plan has no root key")
	case p.GoCache == "" || strings.ContainsAny(p.GoCache, "/ \t\n"):
		return fmt.Errorf("plan Go build cache %q: want a cache name", p.GoCache)
	case p.Job.UID == 0 || p.Job.GID == 0:
		return fmt.Errorf("build ids %d:%d: a plan never runs as root (sandbox.BuildIDs)", p.Job.UID, p.Job.GID)
	case len(p.Cmds) == 0:
		return errors.New("plan has no commands")
	}
	if _, err := Platform(p.Arch); err != nil {
		return err
	}
	if err := (Blob{p.RootTar, p.RootSHA256}).check("root"); err != nil {
		return err
	}
	if p.RootLayer != (Blob{}) {
		if err := p.RootLayer.check("root layer"); err != nil {
			return err
		}
	}
	for _, d := range p.RootDeleted {
		if !path.IsAbs(d) || path.Clean(d) != d || d == "/" {
			return fmt.Errorf("root layer: deleted path %q: want a clean absolute path below /", d)
		}
	}
	seen := map[string]bool{"/": true, "/tmp": true, "/proc": true, "/dev": true}
	writable := map[string]bool{}
	for _, b := range p.Job.Binds {
		if !path.IsAbs(b.Path) || path.Clean(b.Path) != b.Path {
			return fmt.Errorf("bind %q: want a clean absolute sandbox path", b.Path)
		}
		if seen[b.Path] {
			return fmt.Errorf("bind %q: mounted twice or over a path the executor owns", b.Path)
		}
		seen[b.Path] = true
		if b.Write {
			writable[b.Path] = true
		}
	}
	for _, c := range p.Caches {
		if !writable[c] {
			return fmt.Errorf("cache %q: not a writable bind of the plan", c)
		}
	}
	for dst, t := range p.Trees {
		if !seen[dst] || writable[dst] {
			return fmt.Errorf("tree %q: not a read-only bind of the plan", dst)
		}
		if err := t.check("tree " + dst); err != nil {
			return err
		}
	}
	if !writable[p.Export] || p.isCache(p.Export) {
		return fmt.Errorf("export %q: want a writable bind that is not a cache", p.Export)
	}
	for i, c := range p.Cmds {
		if len(c.Args) == 0 {
			return fmt.Errorf("command %d is empty", i+1)
		}
		if strings.Contains(c.Args[0], "=") {
			// env would take it for one more environment entry.
			return fmt.Errorf("command %d: program %q contains '='", i+1, c.Args[0])
		}
		if c.Dir != "" && !path.IsAbs(c.Dir) {
			return fmt.Errorf("command %d (%s): directory %q is not absolute", i+1, c.Argv(), c.Dir)
		}
		for _, kv := range append(append([]string{}, p.Job.Env...), c.Env...) {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return fmt.Errorf("command %d (%s): environment entry %q is not NAME=value", i+1, c.Argv(), kv)
			}
		}
	}
	return nil
}

// Lower turns p into the LLB state of its exported directory.
func Lower(p Plan) (llb.State, error) {
	if err := p.check(); err != nil {
		return llb.State{}, fmt.Errorf("lower %s for buildkit: %w", p.Name, err)
	}
	job := p.Job
	owner := llb.WithUIDGID(job.UID, job.GID)
	user := strconv.Itoa(job.UID) + ":" + strconv.Itoa(job.GID)

	// The worker unpacks the root tarball (unpackBlob), and a derived
	// root's layer over it.
	root := unpackBlob("root", Blob{p.RootTar, p.RootSHA256}, "unpack build root "+p.RootKey)
	if p.RootLayer != (Blob{}) {
		root = applyLayer(root, p.RootLayer, p.RootDeleted, "apply the layer of build root "+p.RootKey)
	}

	// Writable binds start as copies owned by the build uid (as debforge
	// chowns them on the host) and are chained from command to command,
	// which also orders the commands. Read-only binds stay locals.
	binds := append([]executor.Bind(nil), job.Binds...)
	sort.SliceStable(binds, func(i, j int) bool { return binds[i].Path < binds[j].Path })
	state := map[string]llb.State{}
	for _, b := range binds {
		switch {
		case p.isCache(b.Path):
			state[b.Path] = llb.Scratch().File(llb.Mkdir("/cache", 0o755, owner))
		case b.Write:
			// Under /d: the top of a snapshot always belongs to root, and
			// the build uid must own the directory itself, as on the host.
			state[b.Path] = llb.Scratch().File(llb.Mkdir(writableDir, 0o755, owner).Copy(llb.Local(localName(b.Path)), "/", writableDir,
				&llb.CopyInfo{CopyDirContentsOnly: true}, owner), llb.WithCustomName("copy in "+b.Path))
		case p.Trees[b.Path] != Blob{}:
			state[b.Path] = unpackBlob("tree", p.Trees[b.Path], "unpack "+b.Path)
		default:
			state[b.Path] = llb.Local(localName(b.Path))
		}
	}

	for i, c := range p.Cmds {
		dir := c.Dir
		if dir == "" {
			dir = "/"
		}
		// env -i: the command sees the plan's environment and nothing of
		// the worker's, in the sandbox's order (plan env, then the
		// command's own, later entries winning).
		argv := append([]string{"/usr/bin/env", "-i", "--"}, append(append(append([]string{}, job.Env...), c.Env...), c.Args...)...)
		opts := []llb.RunOption{
			llb.Args(argv), llb.Dir(dir), llb.User(user),
			llb.Network(pb.NetMode_NONE), llb.ReadonlyRootFS(),
			llb.AddMount("/tmp", llb.Scratch(), llb.Tmpfs()),
			llb.WithCustomName(fmt.Sprintf("[%s %d/%d] %s", p.Name, i+1, len(p.Cmds), c.Argv())),
		}
		run := root.Run(opts...)
		outs := map[string]llb.State{}
		for _, b := range binds {
			switch {
			case p.isCache(b.Path):
				run.AddMount(b.Path, state[b.Path], llb.SourcePath("/cache"),
					llb.AsPersistentCacheDir("debforge-go"+p.GoCache, llb.CacheMountShared))
			case b.Write:
				outs[b.Path] = run.AddMount(b.Path, state[b.Path], llb.SourcePath(writableDir))
			default:
				run.AddMount(b.Path, state[b.Path], llb.Readonly)
			}
		}
		for k, v := range outs {
			state[k] = v
		}
	}
	return llb.Scratch().File(llb.Copy(state[p.Export], writableDir+"/", "/", &llb.CopyInfo{CopyDirContentsOnly: true}),
		llb.WithCustomName("export "+p.Export)), nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// unpackBlob is b's tree on scratch. AttemptUnpack keeps the tarball's
// owners and modes, as the host's own unpacking does. The blob is named
// by its hash and fetched from the solve's content store only if the
// unpacked tree is not already in the worker's cache.
func unpackBlob(kind string, b Blob, name string) llb.State {
	return llb.Scratch().File(llb.Copy(
		llb.OCILayoutBlob("debforge/"+kind+"@sha256:"+b.SHA256, llb.ImageBlobOCIStore("", RootStore), llb.Filename(kind+".tar")),
		kind+".tar", "/", &llb.CopyInfo{AttemptUnpack: true}),
		llb.WithCustomName(name))
}

// applyLayer unpacks the layer blob b over base and removes deleted, in
// one file operation.
func applyLayer(base llb.State, b Blob, deleted []string, name string) llb.State {
	fa := llb.Copy(llb.OCILayoutBlob("debforge/layer@sha256:"+b.SHA256, llb.ImageBlobOCIStore("", RootStore), llb.Filename("layer.tar")),
		"layer.tar", "/", &llb.CopyInfo{AttemptUnpack: true})
	for _, d := range deleted {
		fa = fa.Rm(d, llb.WithAllowNotFound(true))
	}
	return base.File(fa, llb.WithCustomName(name))
}

// writableDir is where a writable bind's tree sits in its snapshot.
const writableDir = "/d"

// Definition marshals p for its target's platform. The fixed local ID
// makes two lowerings of one plan byte-identical, whoever runs them, so
// BuildKit's cache (and a shared one) recognises the same build.
func Definition(ctx context.Context, p Plan) (*llb.Definition, error) {
	st, err := Lower(p)
	if err != nil {
		return nil, err
	}
	plat, err := Platform(p.Arch)
	if err != nil {
		return nil, err
	}
	def, err := st.Marshal(ctx, llb.Platform(plat), llb.LocalUniqueID("debforge-"+p.Name))
	if err != nil {
		return nil, fmt.Errorf("marshal %s for buildkit: %w", p.Name, err)
	}
	return def, nil
}
