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
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/executor"
	"github.com/debforge/debforge/internal/execx"
)

// BuildUser is the system account builds run as when debforge runs as
// root. It is debforge's own rather than the shared "nobody": every other
// process that runs as nobody on the host (NFS's squashed clients, daemons
// that drop to it) could otherwise write into a build's source copy,
// DESTDIR and Go build cache, and signal or trace its processes. The
// debforge package and `make build` create it; the underscore marks a
// system account no person logs in as, as with apt's _apt.
const BuildUser = "_debforge-build"

// CreateBuildUser is the command that makes BuildUser.
const CreateBuildUser = "useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin " + BuildUser

// Bind and Limits are the job's (executor.Bind, executor.Limits).
type (
	Bind   = executor.Bind
	Limits = executor.Limits
)

// Sandbox runs a job's commands in its Root with its Binds, with
// bubblewrap; Limits are set with prlimit.
type Sandbox struct {
	executor.Job
	// Runner starts bwrap; default execx.OS.
	Runner execx.Runner
}

// DefaultEnv is the environment every sandboxed command starts from.
var DefaultEnv = []string{
	"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/build/home", "TMPDIR=/tmp", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC", "USER=build", "LOGNAME=build",
}

var _ execx.Runner = (*Sandbox)(nil)

// BuildIDs is the host uid and gid builds run as: BuildUser's when
// debforge runs as root, the caller's own otherwise.
func BuildIDs() (uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid(), nil
	}
	u, err := lookupUser(BuildUser)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return 0, 0, &NoBuildUserError{}
		}
		return 0, 0, fmt.Errorf("look up the build user %s: %w", BuildUser, err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err == nil {
		gid, err = strconv.Atoi(u.Gid)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("the build user %s has ids %s:%s: %w", BuildUser, u.Uid, u.Gid, err)
	}
	if uid == 0 || gid == 0 {
		return 0, 0, &NoBuildUserError{UID: uid, GID: gid, Privileged: true}
	}
	return uid, gid, nil
}

// lookupUser is user.Lookup; tests replace it.
var lookupUser = user.Lookup

// NoBuildUserError means debforge runs as root and BuildUser is missing,
// or is root's uid or group: builds then have no unprivileged uid to run as.
type NoBuildUserError struct {
	UID, GID   int
	Privileged bool
}

func (e *NoBuildUserError) Error() string {
	if e.Privileged {
		return fmt.Sprintf("the build user %s has uid %d, gid %d: builds must not run with host root's uid or group", BuildUser, e.UID, e.GID)
	}
	return fmt.Sprintf("there is no build user %s: as root, debforge runs every build as that unprivileged system user", BuildUser)
}

// Hint names the exact fix.
func (e *NoBuildUserError) Hint() string {
	if e.Privileged {
		return "give " + BuildUser + " its own system uid and group: userdel " + BuildUser + " && " + CreateBuildUser
	}
	return "create it once: " + CreateBuildUser + " (installing the debforge package or running make build does this)"
}

// ForBuild fills in the build ids (BuildIDs).
func (s *Sandbox) ForBuild() error {
	uid, gid, err := BuildIDs()
	if err != nil {
		return err
	}
	s.UID, s.GID = uid, gid
	return nil
}

// Argv is the full host command line that runs c in the sandbox.
func (s *Sandbox) Argv(c execx.Cmd) []string {
	var args []string
	if l := s.Limits; l != nil {
		args = append(args, "prlimit")
		if l.DataBytes > 0 {
			args = append(args, "--data="+strconv.FormatInt(l.DataBytes, 10))
		}
		if l.Processes > 0 {
			args = append(args, "--nproc="+strconv.Itoa(l.Processes))
		}
		args = append(args, "--")
	}
	if os.Geteuid() == 0 {
		// Drop to the build uid before bwrap: bwrap then creates its
		// namespaces as that unprivileged user, exactly as for a non-root
		// caller, and the build's files on the host belong to it.
		args = append(args, "setpriv", "--reuid="+strconv.Itoa(s.UID), "--regid="+strconv.Itoa(s.GID),
			"--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--")
	}
	args = append(args, "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
		"--hostname", "debforge", "--ro-bind", s.Root, "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
	binds := s.Binds
	if c.Trusted {
		binds = slices.DeleteFunc(slices.Clone(binds), func(b Bind) bool {
			return slices.ContainsFunc(s.TrustedBinds, func(t Bind) bool { return t.Path == b.Path })
		})
		binds = append(binds, s.TrustedBinds...)
	}
	for _, b := range binds {
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
	if os.Geteuid() == 0 && (s.UID == 0 || s.GID == 0) {
		// A Sandbox made without ForBuild: never fall back to root.
		return errors.New("sandbox: no unprivileged build uid set (call ForBuild)")
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
	s := &Sandbox{Job: executor.Job{Root: root, Env: DefaultEnv}, Runner: r}
	if err := s.ForBuild(); err != nil {
		return err
	}
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
	uid, gid, err := BuildIDs()
	if err != nil {
		return err
	}
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
