package buildkit

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"

	"github.com/debforge/debforge/internal/executor"
	"github.com/debforge/debforge/internal/execx"
)

// hostDir is a host path that must never appear in a definition.
const hostDir = "/var/lib/host-only-7f3a"

func plan() Plan {
	return Plan{
		Name: "hello",
		Job: &executor.Job{
			Root: hostDir + "/fs",
			Env:  []string{"PATH=/usr/bin:/bin", "HOME=/build/home"},
			Binds: []executor.Bind{
				{Host: hostDir + "/src", Path: "/build/src", Write: true},
				{Host: hostDir + "/stage", Path: "/build/stage", Write: true},
				{Host: hostDir + "/mod", Path: "/build/go/mod"},
				{Host: hostDir + "/gobuild", Path: "/build/go/build", Write: true},
				{Host: hostDir + "/go", Path: "/usr/local/go"},
			},
			UID: 999, GID: 995,
		},
		RootTar:    hostDir + "/root.tar",
		RootSHA256: rootHash,
		RootKey:    "0123456789abcdef",
		GoCache:    "build-probe-pure",
		Arch:       "arm64",
		Cmds: []execx.Cmd{
			{Args: []string{"make"}, Dir: "/build/src", Env: []string{"CC=gcc"}},
			{Args: []string{"make", "install", "DESTDIR=/build/stage"}, Dir: "/build/src"},
		},
		Export: "/build/stage",
		Caches: []string{"/build/go/build"},
		Trees:  map[string]Blob{"/usr/local/go": {Tar: hostDir + "/go.tar", SHA256: treeHash}},
	}
}

type decoded struct {
	ops   map[digest.Digest]*pb.Op
	execs []*pb.Op // in chain order, first command first
	dgst  map[*pb.Op]digest.Digest
}

func decode(t *testing.T, p Plan) (decoded, []byte) {
	t.Helper()
	def, err := Definition(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	d := decoded{ops: map[digest.Digest]*pb.Op{}, dgst: map[*pb.Op]digest.Digest{}}
	var raw bytes.Buffer
	for _, b := range def.Def {
		raw.Write(b)
		var op pb.Op
		if err := op.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		dg := digest.FromBytes(b)
		d.ops[dg], d.dgst[&op] = &op, dg
	}
	// Order the execs by following each one's /build/src input back.
	var last *pb.Op
	for _, op := range d.ops {
		if op.GetExec() != nil && !d.consumed(op) {
			last = op
		}
	}
	for op := last; op != nil && op.GetExec() != nil; {
		d.execs = append([]*pb.Op{op}, d.execs...)
		op = d.input(op, "/build/src")
	}
	return d, raw.Bytes()
}

// consumed reports whether another exec takes op's output as an input.
func (d decoded) consumed(op *pb.Op) bool {
	for _, o := range d.ops {
		for _, in := range o.Inputs {
			if o.GetExec() != nil && digest.Digest(in.Digest) == d.dgst[op] {
				return true
			}
		}
	}
	return false
}

func (d decoded) input(op *pb.Op, dest string) *pb.Op {
	for _, m := range op.GetExec().Mounts {
		if m.Dest == dest && m.Input >= 0 {
			return d.ops[digest.Digest(op.Inputs[m.Input].Digest)]
		}
	}
	return nil
}

func mount(op *pb.Op, dest string) *pb.Mount {
	for _, m := range op.GetExec().Mounts {
		if m.Dest == dest {
			return m
		}
	}
	return nil
}

func TestLowerRunsThePlanAsTheSandboxDoes(t *testing.T) {
	p := plan()
	d, raw := decode(t, p)
	if len(d.execs) != 2 {
		t.Fatalf("%d chained execs, want 2", len(d.execs))
	}
	for i, op := range d.execs {
		e, c := op.GetExec(), p.Cmds[i]
		want := append(append(append([]string{"/usr/bin/env", "-i", "--"}, p.Job.Env...), c.Env...), c.Args...)
		if !slices.Equal(e.Meta.Args, want) {
			t.Errorf("exec %d args %q, want %q", i+1, e.Meta.Args, want)
		}
		if e.Meta.Cwd != c.Dir || e.Meta.User != "999:995" {
			t.Errorf("exec %d runs in %q as %q", i+1, e.Meta.Cwd, e.Meta.User)
		}
		if e.Network != pb.NetMode_NONE {
			t.Errorf("exec %d network %v, want none", i+1, e.Network)
		}
		if m := mount(op, "/"); m == nil || !m.Readonly {
			t.Errorf("exec %d: the root is not mounted read-only: %+v", i+1, m)
		}
		if m := mount(op, "/tmp"); m == nil || m.MountType != pb.MountType_TMPFS {
			t.Errorf("exec %d: /tmp is not a tmpfs: %+v", i+1, m)
		}
		if m := mount(op, "/build/go/mod"); m == nil || !m.Readonly {
			t.Errorf("exec %d: the module cache is not read-only: %+v", i+1, m)
		}
		if m := mount(op, "/usr/local/go"); m == nil || !m.Readonly || d.input(op, "/usr/local/go").GetFile() == nil {
			t.Errorf("exec %d: the toolchain is not its unpacked tarball, read-only: %+v", i+1, m)
		}
		m := mount(op, "/build/go/build")
		if m == nil || m.MountType != pb.MountType_CACHE || m.CacheOpt.ID != "debforge-gobuild-probe-pure" || m.CacheOpt.Sharing != pb.CacheSharingOpt_SHARED {
			t.Errorf("exec %d: the Go build cache is not the component's own cache mount: %+v", i+1, m)
		}
		for _, w := range []string{"/build/src", "/build/stage"} {
			if m := mount(op, w); m == nil || m.Readonly || m.Output < 0 || m.Selector != writableDir {
				t.Errorf("exec %d: %s is not a writable mount with an output: %+v", i+1, w, m)
			}
		}
	}
	// The second command sees the first one's stage, not a fresh copy.
	if got := d.input(d.execs[1], "/build/stage"); got != d.execs[0] {
		t.Error("the second command's DESTDIR does not come from the first command")
	}
	if bytes.Contains(raw, []byte(hostDir)) {
		t.Errorf("the definition names the host directory %s", hostDir)
	}
	// The root comes from its tarball, unpacked by the worker.
	var unpacks, locals []string
	for _, op := range d.ops {
		if s := op.GetSource(); s != nil {
			locals = append(locals, s.Identifier)
		}
		if f := op.GetFile(); f != nil {
			for _, a := range f.Actions {
				if c := a.GetCopy(); c != nil && c.AttemptUnpackDockerCompatibility {
					unpacks = append(unpacks, c.Src)
				}
			}
		}
		if pl := op.Platform; pl != nil && (pl.OS != "linux" || pl.Architecture != "arm64") {
			t.Errorf("op for platform %s/%s, want linux/arm64", pl.OS, pl.Architecture)
		}
	}
	slices.Sort(unpacks)
	if !slices.Equal(unpacks, []string{"/root.tar", "/tree.tar"}) {
		t.Errorf("unpacked %q, want the root and toolchain tarballs alone", unpacks)
	}
	slices.Sort(locals)
	// The root and the toolchain are blobs named by their hashes (never
	// locals, which the worker needs sent to checksum); everything else
	// is a local.
	if want := []string{"local://bind-build-go-mod", "local://bind-build-src", "local://bind-build-stage",
		"oci-layout+blob://docker.io/debforge/root@sha256:" + rootHash, "oci-layout+blob://docker.io/debforge/tree@sha256:" + treeHash}; !slices.Equal(locals, want) {
		t.Errorf("sources %q, want %q", locals, want)
	}
	if got := p.Locals(); got["bind-build-src"] != hostDir+"/src" || len(got) != 3 {
		t.Errorf("Locals() = %v", got)
	}
	// Two lowerings of one plan are byte-identical: the cache key.
	if _, again := decode(t, p); !bytes.Equal(raw, again) {
		t.Error("two definitions of one plan differ")
	}
}

// rootHash and treeHash stand for a root's and a toolchain's tarball sha256.
var rootHash, treeHash, layerHash = strings.Repeat("ab", 32), strings.Repeat("cd", 32), strings.Repeat("ef", 32)

// A derived root reaches the worker as its base's tarball and a layer:
// the layer unpacks over the unpacked base, and the base's paths the
// derived root lacks are removed, in one file operation that every
// command runs on; the base stays a blob of its own, so a worker that
// has it is sent only the layer.
func TestLowerAppliesADerivedRootsLayerOverItsBase(t *testing.T) {
	p := plan()
	p.RootLayer, p.RootDeleted = Blob{Tar: hostDir + "/layer.tar", SHA256: layerHash}, []string{"/usr/share/doc/gone"}
	d, _ := decode(t, p)
	var layerOp *pb.Op
	for _, op := range d.ops {
		if f := op.GetFile(); f != nil && len(f.Actions) == 2 {
			if c, r := f.Actions[0].GetCopy(), f.Actions[1].GetRm(); c != nil && c.Src == "/layer.tar" && c.AttemptUnpackDockerCompatibility && r != nil && r.Path == "/usr/share/doc/gone" {
				layerOp = op
			}
		}
	}
	if layerOp == nil {
		t.Fatal("no file op unpacks the layer and removes the deleted path")
	}
	if len(layerOp.Inputs) == 0 {
		t.Fatal("the layer op has no input")
	}
	base := d.ops[digest.Digest(layerOp.Inputs[0].Digest)]
	if f := base.GetFile(); f == nil || f.Actions[0].GetCopy() == nil || f.Actions[0].GetCopy().Src != "/root.tar" {
		t.Errorf("the layer is not applied over the unpacked base: %v", base)
	}
	for i, e := range d.execs {
		if got := d.ops[digest.Digest(e.Inputs[e.GetExec().Mounts[0].Input].Digest)]; got != layerOp {
			t.Errorf("command %d runs on %v, not on the base with its layer", i+1, got)
		}
	}
	var blobs []string
	for _, b := range p.blobs() {
		blobs = append(blobs, b.SHA256)
	}
	if !slices.Equal(blobs, []string{rootHash, layerHash, treeHash}) {
		t.Errorf("content store blobs %q: want the base, the layer and the toolchain", blobs)
	}
}

func TestLowerRefusesBadPlans(t *testing.T) {
	for name, change := range map[string]func(*Plan){
		"no name":             func(p *Plan) { p.Name = "" },
		"name with a slash":   func(p *Plan) { p.Name = "a/b" },
		"relative root":       func(p *Plan) { p.RootTar = "root.tar" },
		"no root key":         func(p *Plan) { p.RootKey = "" },
		"no go cache":         func(p *Plan) { p.GoCache = "" },
		"as root":             func(p *Plan) { p.Job.UID = 0 },
		"no commands":         func(p *Plan) { p.Cmds = nil },
		"empty command":       func(p *Plan) { p.Cmds[1].Args = nil },
		"relative dir":        func(p *Plan) { p.Cmds[0].Dir = "src" },
		"env program":         func(p *Plan) { p.Cmds[0].Args = []string{"A=b", "make"} },
		"bad env":             func(p *Plan) { p.Cmds[0].Env = []string{"novalue"} },
		"unknown arch":        func(p *Plan) { p.Arch = "vax" },
		"bind over /tmp":      func(p *Plan) { p.Job.Binds[0].Path = "/tmp" },
		"unclean bind":        func(p *Plan) { p.Job.Binds[0].Path = "/build/../src" },
		"read-only export":    func(p *Plan) { p.Export = "/build/go/mod" },
		"cache export":        func(p *Plan) { p.Export = "/build/go/build" },
		"cache not writable":  func(p *Plan) { p.Caches = []string{"/build/go/mod"} },
		"export not a bind":   func(p *Plan) { p.Export = "/build/out" },
		"same bind twice":     func(p *Plan) { p.Job.Binds[1].Path = "/build/src" },
		"no sandbox inputs":   func(p *Plan) { p.Job = nil },
		"root not a tarball":  func(p *Plan) { p.RootTar = hostDir + "/fs" },
		"no root hash":        func(p *Plan) { p.RootSHA256 = "" },
		"root hash not hex":   func(p *Plan) { p.RootSHA256 = strings.Repeat("Z", 64) },
		"tree on no bind":     func(p *Plan) { p.Trees["/opt/go"] = p.Trees["/usr/local/go"] },
		"tree on a writable":  func(p *Plan) { p.Trees["/build/src"] = p.Trees["/usr/local/go"] },
		"tree hash not hex":   func(p *Plan) { p.Trees["/usr/local/go"] = Blob{Tar: hostDir + "/go.tar", SHA256: "cd"} },
		"tree not a tarball":  func(p *Plan) { p.Trees["/usr/local/go"] = Blob{Tar: hostDir + "/go", SHA256: treeHash} },
		"bad sandbox env":     func(p *Plan) { p.Job.Env = []string{"=x"} },
		"group root":          func(p *Plan) { p.Job.GID = 0 },
		"relative bind":       func(p *Plan) { p.Job.Binds[2].Path = "build/mod" },
		"cache of a non-bind": func(p *Plan) { p.Caches = []string{"/build/cache"} },
		"layer hash not hex":  func(p *Plan) { p.RootLayer = Blob{Tar: hostDir + "/layer.tar", SHA256: "ef"} },
		"layer deletes /":     func(p *Plan) { p.RootLayer, p.RootDeleted = Blob{hostDir + "/layer.tar", layerHash}, []string{"/"} },
		"layer deletes ../": func(p *Plan) {
			p.RootLayer, p.RootDeleted = Blob{hostDir + "/layer.tar", layerHash}, []string{"/usr/../etc"}
		},
	} {
		p := plan()
		change(&p)
		if _, err := Lower(p); err == nil {
			t.Errorf("%s: lowered", name)
		} else if !strings.Contains(err.Error(), "for buildkit") {
			t.Errorf("%s: error %q does not say what failed", name, err)
		}
	}
}

func TestPlatform(t *testing.T) {
	for deb, want := range map[string]string{"amd64": "amd64", "arm64": "arm64", "armhf": "arm/v7", "ppc64el": "ppc64le", "i386": "386"} {
		p, err := Platform(deb)
		got := p.Architecture
		if p.Variant != "" {
			got += "/" + p.Variant
		}
		if err != nil || p.OS != "linux" || got != want {
			t.Errorf("Platform(%s) = %+v, %v; want linux/%s", deb, p, err, want)
		}
	}
	if _, err := Platform("vax"); err == nil {
		t.Error("Platform(vax) has no error")
	}
}
