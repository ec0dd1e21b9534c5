package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"

	"github.com/debforge/debforge/internal/builders"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/executor/buildkit"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/toolchain"
)

// worker is a BuildKit daemon builds are handed to (--buildkit-addr).
type worker struct {
	addr      string
	pin       string // the one Debian architecture it builds (ARCH=ADDR), or any
	lost      bool   // it went away during a build: no more builds go to it
	c         *client.Client
	platforms []string // os/arch[/variant] the worker runs
}

// WorkerError is a BuildKit worker that cannot take the run's builds.
type WorkerError struct {
	Addr, What string
	Err        error
}

func (e *WorkerError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("buildkit worker %s: %s", e.Addr, e.What)
	}
	return fmt.Sprintf("buildkit worker %s: %s: %v", e.Addr, e.What, e.Err)
}

func (e *WorkerError) Unwrap() error { return e.Err }

// Hint names the fix.
func (e *WorkerError) Hint() string {
	if msg := fmt.Sprint(e.Err); strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:") {
		return "check --buildkit-tlsdir: its ca.pem must have signed the worker's certificate, which must name the address's host, and the worker must trust cert.pem (buildkitd --tlscacert)"
	}
	if strings.HasPrefix(e.What, "no platform") {
		return "run the build on a worker of that architecture, or give buildkitd emulation for it (binfmt_misc with qemu-user-static)"
	}
	return "start buildkitd there (buildkitd --addr " + e.Addr + " --oci-worker=true), or drop --buildkit-addr to build in the local sandbox"
}

// ParseBuildKitCache reads --buildkit-cache: type=local,dest=DIR (src,
// if given, must be the same directory: one cache is read and written),
// or type=registry,ref=HOST/REPOSITORY (no tag: each component,
// architecture and root gets its own tag there, as it gets its own store
// under a local DIR).
func ParseBuildKitCache(v string) (buildkit.Cache, error) {
	fix := "give a directory all runs share, --buildkit-cache type=local,dest=/srv/buildkit-cache, or a registry repository, --buildkit-cache type=registry,ref=registry.example.org/debforge/cache"
	attrs := map[string]string{}
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return buildkit.Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: %q is not KEY=VALUE", v, kv), fix)
		}
		attrs[k] = val
	}
	known := map[string][]string{"local": {"type", "dest", "src"}, "registry": {"type", "ref"}}
	keys, ok := known[attrs["type"]]
	if !ok {
		return buildkit.Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: type %q is not supported (type=local or type=registry)", v, attrs["type"]), fix)
	}
	for k := range attrs {
		if !slices.Contains(keys, k) {
			return buildkit.Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: unknown key %q (known for type=%s: %s)", v, k, attrs["type"], strings.Join(keys, ", ")), fix)
		}
	}
	if attrs["type"] == "registry" {
		ref, err := reference.ParseNormalizedNamed(attrs["ref"])
		switch {
		case err != nil:
			return buildkit.Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: ref %q: %w", v, attrs["ref"], err), fix)
		case !reference.IsNameOnly(ref):
			return buildkit.Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: ref %q has a tag or digest; give the repository alone, debforge tags one cache per component there", v, attrs["ref"]), fix)
		}
		return buildkit.Cache{Ref: ref.Name()}, nil
	}
	switch {
	case attrs["dest"] == "" || !filepath.IsAbs(attrs["dest"]):
		return buildkit.Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: dest must be an absolute directory", v), fix)
	case attrs["src"] != "" && filepath.Clean(attrs["src"]) != filepath.Clean(attrs["dest"]):
		return buildkit.Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: src and dest differ; the cache is one directory, read and written", v), fix)
	}
	return buildkit.Cache{Dir: filepath.Clean(attrs["dest"])}, nil
}

// TLSFiles finds the CA certificate, client certificate and key in dir
// under the names buildctl's --tlsdir takes: ca.pem, cert.pem, key.pem, or
// Kubernetes' ca.crt, tls.crt, tls.key.
func TLSFiles(dir string) (ca, cert, key string, err error) {
	for _, names := range [][3]string{{"ca.pem", "cert.pem", "key.pem"}, {"ca.crt", "tls.crt", "tls.key"}} {
		ca, cert, key = filepath.Join(dir, names[0]), filepath.Join(dir, names[1]), filepath.Join(dir, names[2])
		if isFile(ca) && isFile(cert) && isFile(key) {
			return ca, cert, key, nil
		}
	}
	return "", "", "", hint.With(fmt.Errorf("--buildkit-tlsdir %s: want ca.pem, cert.pem and key.pem (or ca.crt, tls.crt and tls.key) in it", dir),
		"put the worker's CA certificate and this client's certificate and key there, as for buildctl --tlsdir")
}

// connectWorker reaches the worker at addr and lists what it runs. It is
// called before anything builds: an unreachable worker changes nothing.
// With tlsDir the connection is TLS with a client certificate, and the
// worker's certificate must name addr's host.
func connectWorker(ctx context.Context, addr, tlsDir string) (*worker, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var opts []client.ClientOpt
	if tlsDir != "" {
		ca, cert, key, err := TLSFiles(tlsDir)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		u, err := url.Parse(addr)
		if err != nil || u.Scheme != "tcp" || u.Hostname() == "" {
			return nil, &UsageError{Err: hint.With(fmt.Errorf("--buildkit-tlsdir with --buildkit-addr %s: TLS needs a tcp://HOST:PORT address", addr),
				"give the worker's tcp:// address, as buildkitd --addr tcp://0.0.0.0:1234 --tlscacert … listens")}
		}
		opts = append(opts, client.WithServerConfig(u.Hostname(), ca), client.WithCredentials(cert, key))
	}
	c, err := client.New(ctx, addr, opts...)
	if err != nil {
		return nil, &WorkerError{Addr: addr, What: "cannot connect", Err: err}
	}
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		c.Close()
		return nil, &WorkerError{Addr: addr, What: "does not answer", Err: err}
	}
	w := &worker{addr: addr, c: c}
	for _, wi := range ws {
		for _, p := range wi.Platforms {
			w.platforms = append(w.platforms, platforms.Format(p))
		}
	}
	if len(w.platforms) == 0 {
		c.Close()
		return nil, &WorkerError{Addr: addr, What: "has no workers"}
	}
	return w, nil
}

// workers are the run's BuildKit workers (--buildkit-addr, repeatable).
// Each build goes to the least busy worker that runs its root's
// architecture and is not pinned to another one (ARCH=ADDR); a worker
// lost mid-build has the build retried on another.
type workers struct {
	mu   sync.Mutex
	all  []*worker
	busy map[*worker]int
	// warn tells the user, once per worker and architecture, that a
	// worker cannot take that architecture's builds while others do.
	warn   func(string)
	warned map[string]bool
}

// maxTries bounds how often one build is handed to a worker.
const maxTries = 3

// connectWorkers connects f to the workers of Options.BuildKitAddrs, once
// per run (the Forges of each target share them); the returned func
// disconnects. A worker that cannot be reached is reported and left out;
// none reachable stops the run before anything builds.
func (f *Forge) connectWorkers(ctx context.Context) (func(), error) {
	if len(f.opts.BuildKitAddrs) == 0 || f.workers != nil {
		return func() {}, nil
	}
	ws := &workers{busy: map[*worker]int{}, warn: f.notify, warned: map[string]bool{}}
	var errs []error
	for _, a := range f.opts.BuildKitAddrs {
		pin, addr := "", a
		if k, v, ok := strings.Cut(a, "="); ok && !strings.Contains(k, "/") && !strings.Contains(k, ":") {
			pin, addr = k, v
			if _, err := buildkit.Platform(pin); err != nil {
				return nil, &UsageError{Err: hint.With(fmt.Errorf("--buildkit-addr %s: %w", a, err), "pin a Debian architecture to a worker: --buildkit-addr arm64=tcp://arm-builder:1234")}
			}
		}
		w, err := connectWorker(ctx, addr, f.opts.BuildKitTLSDir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.pin = pin
		ws.all = append(ws.all, w)
	}
	if len(ws.all) == 0 {
		return nil, errors.Join(errs...)
	}
	for _, err := range errs {
		f.notify(err.Error() + ": building on the other workers")
	}
	f.workers = ws
	return func() {
		for _, w := range ws.all {
			w.c.Close()
		}
		f.workers = nil
	}, nil
}

// take returns the least busy worker for arch not in tried, marking it
// busy; release undoes that.
func (ws *workers) take(arch string, tried map[*worker]bool) (*worker, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var best *worker
	var why []string
	var unfit []error // workers that do not run arch
	for _, w := range ws.all {
		switch {
		case tried[w]:
			why = append(why, w.addr+" failed during this build")
		case w.lost:
			why = append(why, w.addr+" was lost earlier in this run")
		case w.pin != "" && w.pin != arch:
			why = append(why, w.addr+" is pinned to "+w.pin)
		default:
			if err := w.runs(arch); err != nil {
				why = append(why, err.Error())
				unfit = append(unfit, err)
			} else if best == nil || ws.busy[w] < ws.busy[best] {
				best = w
			}
		}
	}
	if best == nil {
		return nil, hint.With(fmt.Errorf("no buildkit worker for %s: %s", arch, strings.Join(why, "; ")),
			"add a worker of that architecture: --buildkit-addr "+arch+"=ADDR")
	}
	for _, err := range unfit {
		if msg := err.Error(); ws.warn != nil && !ws.warned[msg] {
			ws.warned[msg] = true
			ws.warn(msg + ": its " + arch + " builds go to the other workers")
		}
	}
	ws.busy[best]++
	return best, nil
}

func (ws *workers) release(w *worker) {
	ws.mu.Lock()
	ws.busy[w]--
	ws.mu.Unlock()
}

func (w *worker) runs(debArch string) error {
	p, err := buildkit.Platform(debArch)
	if err != nil {
		return &WorkerError{Addr: w.addr, What: "no platform for " + debArch, Err: err}
	}
	want := platforms.Format(p)
	for _, have := range w.platforms {
		if have == want || (p.Variant == "" && strings.HasPrefix(have, want+"/")) {
			return nil
		}
	}
	return &WorkerError{Addr: w.addr, What: fmt.Sprintf("no platform %s (it runs %s)", want, strings.Join(w.platforms, ", "))}
}

// runPlan runs the commands planned for req: in the local sandbox, or on
// a BuildKit worker when there are some, and says which. Either way the
// staged files end in the host's stage dir and are stripped there, in the
// sandbox, as before.
func (f *Forge) runPlan(ctx context.Context, sb *sandbox.Sandbox, root *buildroot.Root, cmds []execx.Cmd, req builders.Request, log io.Writer) (workerAddr string, _ error) {
	if f.workers == nil {
		return "", builders.RunPlanned(ctx, sb, cmds, req, log)
	}
	rootTar, layer, err := f.rootBlobs(ctx, root, log)
	if err != nil {
		return "", err
	}
	plan := buildkit.Plan{
		Name: req.Component.Name, Job: &sb.Job, RootTar: rootTar, RootSHA256: root.TarSHA256, RootKey: root.Key, GoCache: goBuildCacheName(req.Component, root),
		Arch: root.Target.Arch, Cmds: cmds, Export: req.StageDir, Caches: []string{"/build/go/build"},
	}
	if layer != nil {
		plan.RootLayer, plan.RootDeleted = buildkit.Blob{Tar: layer.Tar, SHA256: layer.SHA256}, layer.Deleted
	}
	for _, bd := range sb.Binds {
		if bd.Path == goRootPath {
			tar, sum, err := toolchain.Tarball(ctx, f.runner, bd.Host, log)
			if err != nil {
				return "", err
			}
			plan.Trees = map[string]buildkit.Blob{bd.Path: {Tar: tar, SHA256: sum}}
		}
	}
	tried := map[*worker]bool{}
	for try := 1; ; try++ {
		w, err := f.workers.take(root.Target.Arch, tried)
		if err != nil {
			return "", err
		}
		f.emit(Event{Component: req.Component.Name, Stage: StageBuild, Worker: w.addr})
		err = f.solveOn(ctx, w, plan, sb, req, log)
		f.workers.release(w)
		var lost *WorkerError
		if err == nil || !errors.As(err, &lost) || try == maxTries || ctx.Err() != nil {
			return w.addr, err
		}
		tried[w] = true
		f.workers.mu.Lock()
		w.lost = true
		f.workers.mu.Unlock()
		fmt.Fprintf(log, "debforge: %v; trying another worker (%d of %d tries)\n", err, try+1, maxTries)
	}
}

// solveOn runs plan on w and copies its DESTDIR into the host stage.
func (f *Forge) solveOn(ctx context.Context, w *worker, plan buildkit.Plan, sb *sandbox.Sandbox, req builders.Request, log io.Writer) error {
	for _, c := range plan.Cmds {
		fmt.Fprintf(log, "+ [buildkit %s] %s\n", w.addr, c)
	}
	out, err := os.MkdirTemp(filepath.Dir(req.HostStage()), "buildkit-out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	if err := buildkit.Solve(ctx, w.c, plan, out, f.opts.BuildKitCache, log); err != nil {
		if grpcerrors.Code(err) == codes.Unavailable {
			// The worker went away; a failed command is the build's own.
			return &WorkerError{Addr: w.addr, What: "lost during the build of " + req.Component.Name, Err: err}
		}
		return fmt.Errorf("on buildkit worker %s: %w", w.addr, err)
	}
	// The export arrives owned by debforge; the stage belongs to the
	// build uid, which strips it next, as after a local build.
	if err := execx.RunLogged(ctx, f.runner, execx.Cmd{Args: []string{"cp", "-a", "--", out + "/.", req.HostStage() + "/"}}, log); err != nil {
		return fmt.Errorf("copy the worker's DESTDIR: %w", err)
	}
	if err := chownTree(req.HostStage(), sb.UID, sb.GID); err != nil {
		return err
	}
	return builders.StripELF(ctx, sb, req.HostStage(), req.StageDir, builders.StripProgram(req), log)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// rootBlobs is what a worker is sent of root: its base's tarball, and for
// a derived root the layer over it.
func (f *Forge) rootBlobs(ctx context.Context, root *buildroot.Root, log io.Writer) (baseTar string, layer *buildroot.Layer, err error) {
	if root.Base == "" {
		return root.Tarball, nil, nil
	}
	layer, err = f.rootStore().Layer(ctx, root, log)
	return filepath.Join(filepath.Dir(root.Base), "root.tar"), layer, err
}
