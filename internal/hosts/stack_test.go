//go:build hosts

package hosts

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

var debforgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "debforge-hosts-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	debforgeBin = filepath.Join(dir, "debforge")
	if err := testutil.BuildDebforge("../..", debforgeBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repo is a published stack repository on the host, served over HTTP to
// the guests (QEMU's user network shows the host's loopback as 10.0.2.2).
type repo struct {
	specs, out, key string
	port            int
	// release is the guest's: the build narrows specs/' targets to it.
	release string
}

// sources is the published .sources file hosts of the release copy.
func (r repo) sources() string { return "debforge-archive-keyring-" + r.release + ".sources" }

// build builds the stack (but slirp4netns) for the guest's release on
// amd64 only: specs/debforge.yaml lists four targets. debforge-tool is
// left out too: its source is "dir: .." (the checkout around specs/),
// which from the test's copy of specs/ is a temporary directory, and
// nothing in the stack depends on it.
func (r repo) build(t *testing.T) {
	t.Helper()
	r.debforge(t, "build", "all", "--except", "slirp4netns", "--except", "debforge-tool", "--target", r.release+"/amd64")
}

// buildSelf builds the debforge package from this checkout for the
// guest's release on amd64, into the repository guests use.
func (r repo) buildSelf(t *testing.T) {
	t.Helper()
	checkout, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	r.debforge(t, "build", "debforge-tool", "--source", "debforge-tool="+checkout, "--target", r.release+"/amd64")
}

// debforge runs the CLI against the repo's specs, out and key, and the
// shared build cache (DEBFORGE_CACHE_DIR or the default one `make build`
// and the stack tests use, so a warm machine rebuilds nothing).
func (r repo) debforge(t *testing.T, args ...string) string {
	t.Helper()
	all := []string{"--specs", r.specs, "--out", r.out, "--signing-key", r.key}
	if c := os.Getenv("DEBFORGE_CACHE_DIR"); c != "" {
		all = append(all, "--cache-dir", c)
	}
	cmd := exec.Command(debforgeBin, append(all, args...)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("debforge %v: %v\n%s", args, err, testutil.LastLines(se.String(), 40))
	}
	return so.String()
}

// copyTree copies the specs (YAML, files, patches) so a test can edit them.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stackRepo builds the stack (but slirp4netns, which needs GitHub) for
// release from a copy of specs/ whose url: is where guests reach it, and
// serves it.
func stackRepo(t *testing.T, release string) repo {
	t.Helper()
	dir := t.TempDir()
	r := repo{specs: filepath.Join(dir, "specs"), out: filepath.Join(dir, "out"), key: filepath.Join(dir, "key.asc"), port: freePort(t), release: release}
	copyTree(t, "../../specs", r.specs)
	// Beside the stack, a system service of the kind an admin packages:
	// the systemd-service template's scripts on a real systemd.
	copyTree(t, "../e2e/testdata/servicespecs/src", filepath.Join(r.specs, "src"))
	copyTree(t, "../e2e/testdata/servicespecs/hello-service.yaml", filepath.Join(r.specs, "hello-service.yaml"))
	f, err := os.OpenFile(filepath.Join(r.specs, "debforge.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "url: http://10.0.2.2:%d\n", r.port)
	f.Close()
	r.debforge(t, "keygen")
	start := time.Now()
	r.build(t)
	step(t, "stack-build", start)
	r.serve(t)
	return r
}

// serve runs `debforge serve` on the repo's port until the test ends.
func (r repo) serve(t *testing.T) {
	t.Helper()
	cmd := exec.Command(debforgeBin, "--specs", r.specs, "--out", r.out, "serve", "--addr", "127.0.0.1:"+strconv.Itoa(r.port))
	var se bytes.Buffer
	cmd.Stderr = &se
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(r.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("debforge serve did not listen: %s", se.String())
}

// bumpRevision raises a spec's revision in the repo's spec copy.
func (r repo) bumpRevision(t *testing.T, name string) {
	t.Helper()
	p := filepath.Join(r.specs, name+".yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^revision:\s*"?(\d+)"?\s*$`)
	n := 1 // the default when a spec has no revision
	if m := re.FindSubmatch(data); m != nil {
		n, _ = strconv.Atoi(string(m[1]))
		data = re.ReplaceAll(data, nil)
	}
	data = append(bytes.TrimRight(data, "\n"), []byte(fmt.Sprintf("\nrevision: \"%d\"\n", n+1))...)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// debVersion is the Debian version the repo's spec copy builds of name
// for the repo's release (version-revision and the release suffix).
func (r repo) debVersion(t *testing.T, name string) string {
	t.Helper()
	set, err := forge.LoadSpecs(r.specs)
	if err != nil {
		t.Fatal(err)
	}
	c := set.Get(name)
	if c == nil {
		t.Fatalf("no spec %s in %s", name, r.specs)
	}
	return c.ForTarget(spec.Target{Release: r.release, Arch: "amd64"}).DebVersion()
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: no %q in:\n%s", what, w, testutil.LastLines(out, 40))
		}
	}
}
