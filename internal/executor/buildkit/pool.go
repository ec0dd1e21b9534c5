package buildkit

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
	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/usage"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
)

// Worker is a BuildKit daemon builds are handed to (--buildkit-addr).
type Worker struct {
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

// ParseCache reads --buildkit-cache: type=local,dest=DIR (src,
// if given, must be the same directory: one cache is read and written),
// or type=registry,ref=HOST/REPOSITORY (no tag: each component,
// architecture and root gets its own tag there, as it gets its own store
// under a local DIR).
func ParseCache(v string) (Cache, error) {
	fix := "give a directory all runs share, --buildkit-cache type=local,dest=/srv/buildkit-cache, or a registry repository, --buildkit-cache type=registry,ref=registry.example.org/debforge/cache"
	attrs := map[string]string{}
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: %q is not KEY=VALUE", v, kv), fix)
		}
		attrs[k] = val
	}
	known := map[string][]string{"local": {"type", "dest", "src"}, "registry": {"type", "ref"}}
	keys, ok := known[attrs["type"]]
	if !ok {
		return Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: type %q is not supported (type=local or type=registry)", v, attrs["type"]), fix)
	}
	for k := range attrs {
		if !slices.Contains(keys, k) {
			return Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: unknown key %q (known for type=%s: %s)", v, k, attrs["type"], strings.Join(keys, ", ")), fix)
		}
	}
	if attrs["type"] == "registry" {
		ref, err := reference.ParseNormalizedNamed(attrs["ref"])
		switch {
		case err != nil:
			return Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: ref %q: %w", v, attrs["ref"], err), fix)
		case !reference.IsNameOnly(ref):
			return Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: ref %q has a tag or digest; give the repository alone, debforge tags one cache per component there", v, attrs["ref"]), fix)
		}
		return Cache{Ref: ref.Name()}, nil
	}
	switch {
	case attrs["dest"] == "" || !filepath.IsAbs(attrs["dest"]):
		return Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: dest must be an absolute directory", v), fix)
	case attrs["src"] != "" && filepath.Clean(attrs["src"]) != filepath.Clean(attrs["dest"]):
		return Cache{}, hint.With(fmt.Errorf("--buildkit-cache %s: src and dest differ; the cache is one directory, read and written", v), fix)
	}
	return Cache{Dir: filepath.Clean(attrs["dest"])}, nil
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
func connectWorker(ctx context.Context, addr, tlsDir string) (*Worker, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var opts []client.ClientOpt
	if tlsDir != "" {
		ca, cert, key, err := TLSFiles(tlsDir)
		if err != nil {
			return nil, &usage.Error{Err: err}
		}
		u, err := url.Parse(addr)
		if err != nil || u.Scheme != "tcp" || u.Hostname() == "" {
			return nil, usage.New(fmt.Errorf("--buildkit-tlsdir with --buildkit-addr %s: TLS needs a tcp://HOST:PORT address", addr),
				"give the worker's tcp:// address, as buildkitd --addr tcp://0.0.0.0:1234 --tlscacert … listens")
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
	w := &Worker{addr: addr, c: c}
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

// Pool is a run's BuildKit workers (--buildkit-addr, repeatable).
// Each build goes to the least busy worker that runs its root's
// architecture and is not pinned to another one (ARCH=ADDR); a worker
// lost mid-build has the build retried on another.
type Pool struct {
	mu   sync.Mutex
	all  []*Worker
	busy map[*Worker]int
	// warn tells the user, once per worker and architecture, that a
	// worker cannot take that architecture's builds while others do.
	warn   func(string)
	warned map[string]bool
}

// MaxTries bounds how often one build is handed to a worker.
const MaxTries = 3

// NewPool connects to the workers at addrs (ADDR, or ARCH=ADDR to pin a
// Debian architecture to one), with the TLS files in tlsDir when it is
// set. A worker that cannot be reached is told to warn and left out; none
// reachable is an error, before anything builds. warn also hears, once
// per worker and architecture, of a worker that cannot take that
// architecture's builds while others do.
func NewPool(ctx context.Context, addrs []string, tlsDir string, warn func(string)) (*Pool, error) {
	ws := &Pool{busy: map[*Worker]int{}, warn: warn, warned: map[string]bool{}}
	var errs []error
	for _, a := range addrs {
		pin, addr := "", a
		if k, v, ok := strings.Cut(a, "="); ok && !strings.Contains(k, "/") && !strings.Contains(k, ":") {
			pin, addr = k, v
			if _, err := Platform(pin); err != nil {
				return nil, usage.New(fmt.Errorf("--buildkit-addr %s: %w", a, err), "pin a Debian architecture to a worker: --buildkit-addr arm64=tcp://arm-builder:1234")
			}
		}
		w, err := connectWorker(ctx, addr, tlsDir)
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
		if warn != nil {
			warn(err.Error() + ": building on the other workers")
		}
	}
	return ws, nil
}

// Close disconnects from every worker.
func (ws *Pool) Close() {
	for _, w := range ws.all {
		w.c.Close()
	}
}

// Lose marks w lost: it went away during a build, and no more builds go
// to it in this run.
func (ws *Pool) Lose(w *Worker) {
	ws.mu.Lock()
	w.lost = true
	ws.mu.Unlock()
}

// Addr is the worker's address, as given.
func (w *Worker) Addr() string { return w.addr }

// Solve solves plan on w and exports the result into out; a worker that
// went away is a WorkerError, a failed command the build's own error.
func (w *Worker) Solve(ctx context.Context, plan Plan, out string, cache Cache, log io.Writer) error {
	if err := Solve(ctx, w.c, plan, out, cache, log); err != nil {
		if grpcerrors.Code(err) == codes.Unavailable {
			return &WorkerError{Addr: w.addr, What: "lost during the build of " + plan.Name, Err: err}
		}
		return fmt.Errorf("on buildkit worker %s: %w", w.addr, err)
	}
	return nil
}

// Take returns the least busy worker for arch not in tried, marking it
// busy; Release undoes that.
func (ws *Pool) Take(arch string, tried map[*Worker]bool) (*Worker, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var best *Worker
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

func (ws *Pool) Release(w *Worker) {
	ws.mu.Lock()
	ws.busy[w]--
	ws.mu.Unlock()
}

func (w *Worker) runs(debArch string) error {
	p, err := Platform(debArch)
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

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
