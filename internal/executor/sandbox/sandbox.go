// Package sandbox runs planned build commands inside a build root with
// bubblewrap: new user, mount, PID, IPC, UTS, cgroup and network
// namespaces (only loopback), the root read-only, a fresh /tmp, and only
// the directories the build owns writable. When debforge runs as root the
// sandbox is entered as an unprivileged build uid first, so that nothing
// of a build ever runs as host root.
//
// Sandbox is an execx.Runner: builders keep planning commands as data and
// never know where they run.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/execx"
)

// NobodyID is the build uid and gid when debforge runs as root: the
// "nobody" user and "nogroup" group every Debian system has, which own no
// files and hold no privileges, so a fresh machine needs no setup.
const NobodyID = 65534

// Bind makes host directory Host visible at Path inside the sandbox.
type Bind struct {
	Host, Path string
	Write      bool
}

// Sandbox runs commands in Root with Binds. The zero UID/GID mean
// NobodyID when running as root, and the caller's own ids otherwise.
type Sandbox struct {
	// Root is the unpacked build root, bound read-only at /.
	Root  string
	Binds []Bind
	// Env is the whole environment of every command (nothing is inherited
	// from debforge's); a command's own Env entries come after and win.
	Env []string
	// Runner starts bwrap; default execx.OS.
	Runner execx.Runner
}

// DefaultEnv is the environment every sandboxed command starts from.
var DefaultEnv = []string{
	"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/build/home", "TMPDIR=/tmp", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC", "USER=build", "LOGNAME=build",
}

var _ execx.Runner = (*Sandbox)(nil)

// BuildIDs is the host uid and gid builds run as.
func BuildIDs() (uid, gid int) {
	if os.Geteuid() == 0 {
		return NobodyID, NobodyID
	}
	return os.Geteuid(), os.Getegid()
}

// Argv is the full host command line that runs c in the sandbox.
func (s *Sandbox) Argv(c execx.Cmd) []string {
	var args []string
	if os.Geteuid() == 0 {
		uid, gid := BuildIDs()
		// Drop to the build uid before bwrap: bwrap then creates its
		// namespaces as that unprivileged user, exactly as for a non-root
		// caller, and the build's files on the host belong to it.
		args = append(args, "setpriv", "--reuid="+strconv.Itoa(uid), "--regid="+strconv.Itoa(gid),
			"--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--")
	}
	args = append(args, "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
		"--hostname", "debforge", "--ro-bind", s.Root, "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
	for _, b := range s.Binds {
		flag := "--ro-bind"
		if b.Write {
			flag = "--bind"
		}
		args = append(args, flag, b.Host, b.Path)
	}
	args = append(args, "--clearenv")
	for _, kv := range append(append([]string{}, s.Env...), c.Env...) {
		k, v, _ := strings.Cut(kv, "=")
		args = append(args, "--setenv", k, v)
	}
	if c.Dir != "" {
		args = append(args, "--chdir", c.Dir)
	}
	return append(append(args, "--"), c.Args...)
}

// Run runs c inside the sandbox, its output streamed to output.
func (s *Sandbox) Run(ctx context.Context, c execx.Cmd, output io.Writer) error {
	if len(c.Args) == 0 {
		return errors.New("empty command")
	}
	r := s.Runner
	if r == nil {
		r = execx.OS{}
	}
	return r.Run(ctx, execx.Cmd{Args: s.Argv(c)}, output)
}

// UnavailableError means this host cannot create the sandbox.
type UnavailableError struct {
	Output string
	Err    error
	hint   string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("cannot create the build sandbox (builds never run on the host): %v: %s", e.Err, strings.TrimSpace(e.Output))
}

// Hint names the exact fix.
func (e *UnavailableError) Hint() string { return e.hint }

// Check starts an empty sandbox once through r, so that a host without
// the means to sandbox stops before anything is built, with the fix.
func Check(ctx context.Context, r execx.Runner, root string) error {
	if _, err := exec.LookPath("bwrap"); err != nil {
		return &UnavailableError{Err: err, hint: "install bubblewrap: apt-get install bubblewrap"}
	}
	s := &Sandbox{Root: root, Env: DefaultEnv, Runner: r}
	var out bytes.Buffer
	err := s.Run(ctx, execx.Cmd{Args: []string{"true"}}, &out)
	if err == nil {
		return nil
	}
	hint := "see the error above; the sandbox needs bubblewrap and unprivileged user namespaces"
	if userNSDisabled() || strings.Contains(out.String(), "namespace") {
		hint = "enable unprivileged user namespaces: sysctl -w user.max_user_namespaces=63936 kernel.unprivileged_userns_clone=1 " +
			"(and put the same in /etc/sysctl.d/90-debforge.conf to keep it)"
	}
	return &UnavailableError{Output: out.String(), Err: err, hint: hint}
}

func userNSDisabled() bool {
	for _, f := range []string{"/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/unprivileged_userns_clone"} {
		if b, err := os.ReadFile(f); err == nil && strings.TrimSpace(string(b)) == "0" {
			return true
		}
	}
	return false
}

// UnreachableError is a directory the build uid cannot get to.
type UnreachableError struct {
	Path, Blocker string
	Mode          os.FileMode
	UID           int
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the build uid %d cannot reach %s: %s is mode %04o", e.UID, e.Path, e.Blocker, e.Mode.Perm())
}

// Hint names the fix.
func (e *UnreachableError) Hint() string {
	return "keep the cache where the build user can read it (--cache-dir; default /var/cache/debforge for root) or chmod o+x " + e.Blocker
}

// CheckReachable makes sure every directory above and including p can be
// searched by the build uid: bwrap binds paths as that user.
func CheckReachable(p string) error {
	uid, gid := BuildIDs()
	if uid == 0 {
		return nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	for d := abs; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if !searchable(st, uid, gid) {
			return &UnreachableError{Path: abs, Blocker: d, Mode: st.Mode(), UID: uid}
		}
		if d == "/" {
			return nil
		}
	}
}
