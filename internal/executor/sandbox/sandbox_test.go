package sandbox

import (
	"context"
	"errors"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/executor"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/testutil"
)

// The argv is the sandbox's whole contract: check it without running it.
func TestArgv(t *testing.T) {
	s := &Sandbox{Job: executor.Job{Root: "/roots/r", Env: []string{"PATH=/bin", "A=1"}, Binds: []Bind{
		{Host: "/w/src", Path: "/build/src", Write: true},
		{Host: "/c/mod", Path: "/build/go/mod"},
	}, UID: 999, GID: 998}}
	argv := s.Argv(execx.Cmd{Args: []string{"make", "all"}, Dir: "/build/src", Env: []string{"A=2"}})
	got := strings.Join(argv, " ")
	for _, want := range []string{
		"bwrap --unshare-all --die-with-parent --new-session",
		"--ro-bind /roots/r / --proc /proc --dev /dev --tmpfs /tmp",
		"--bind /w/src /build/src", "--ro-bind /c/mod /build/go/mod",
		"--clearenv --setenv PATH /bin --setenv A 1 --setenv A 2",
		"--chdir /build/src -- make all",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("argv lacks %q:\n%s", want, got)
		}
	}
	if os.Geteuid() == 0 {
		if !slices.Contains(argv, "--reuid=999") || !slices.Contains(argv, "--regid=998") || argv[0] != "setpriv" {
			t.Errorf("as root the build must drop to the build uid first: %s", got)
		}
	} else if argv[0] != "bwrap" {
		t.Errorf("argv[0] = %s", argv[0])
	}
	if strings.Contains(got, "--share-net") {
		t.Error("the network must stay unshared")
	}
}

func TestCheckReachableNamesTheBlocker(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the build uid is the caller's own when not root")
	}
	d := t.TempDir()
	testutil.Must(t, os.Chmod(d, 0o700))
	testutil.Must(t, os.Mkdir(d+"/x", 0o755))
	err := CheckReachable(d + "/x")
	if err == nil || !strings.Contains(err.Error(), d+" is mode 0700") {
		t.Errorf("err = %v", err)
	}
}

// As root, a build needs its own unprivileged system user: missing, or
// with root's uid or group, the run stops with the command that fixes it,
// and a Sandbox without ids refuses to run rather than run as root.
func TestBuildUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the build user is only looked up as root; as a user builds run as that user")
	}
	defer func(f func(string) (*user.User, error)) { lookupUser = f }(lookupUser)
	lookupUser = func(name string) (*user.User, error) { return nil, user.UnknownUserError(name) }
	_, _, err := BuildIDs()
	var nb *NoBuildUserError
	if !errors.As(err, &nb) || !strings.Contains(err.Error(), BuildUser) || !strings.Contains(nb.Hint(), "useradd --system") {
		t.Errorf("missing user: %v", err)
	}
	if err := Check(context.Background(), execx.OS{}, "/"); !errors.As(err, &nb) {
		t.Errorf("Check must stop on the missing build user first: %v", err)
	}
	lookupUser = func(name string) (*user.User, error) { return &user.User{Username: name, Uid: "998", Gid: "0"}, nil }
	if _, _, err := BuildIDs(); !errors.As(err, &nb) || !nb.Privileged || !strings.Contains(nb.Hint(), "userdel") {
		t.Errorf("a build user in root's group: %v", err)
	}
	lookupUser = func(name string) (*user.User, error) { return &user.User{Username: name, Uid: "998", Gid: "997"}, nil }
	if uid, gid, err := BuildIDs(); err != nil || uid != 998 || gid != 997 {
		t.Errorf("BuildIDs = %d, %d, %v", uid, gid, err)
	}
	s := &Sandbox{Job: executor.Job{Root: "/", Env: DefaultEnv}}
	if err := s.Run(context.Background(), execx.Cmd{Args: []string{"true"}}, io.Discard); err == nil || !strings.Contains(err.Error(), "build uid") {
		t.Errorf("a Sandbox without build ids ran as root: %v", err)
	}
}

// A trusted command gets the trusted binds, each in place of the bind at
// its path; any other command runs as if they did not exist.
func TestTrustedBindsOnlyForTrustedCommands(t *testing.T) {
	s := &Sandbox{Job: executor.Job{Root: "/roots/r", UID: 999, GID: 998,
		Binds:        []Bind{{Host: "/c/own", Path: "/build/go/build", Write: true}, {Host: "/w/src", Path: "/build/src", Write: true}},
		TrustedBinds: []Bind{{Host: "/c/shared", Path: "/build/go/build", Write: true}}}}
	trusted := strings.Join(s.Argv(execx.Cmd{Args: []string{"go", "build"}, Trusted: true}), " ")
	if !strings.Contains(trusted, "--bind /c/shared /build/go/build") || !strings.Contains(trusted, "--bind /w/src /build/src") || strings.Contains(trusted, "/c/own") {
		t.Errorf("a trusted command must get the shared cache in place of its own:\n%s", trusted)
	}
	other := strings.Join(s.Argv(execx.Cmd{Args: []string{"sh", "-c", "ls /build/go"}}), " ")
	if strings.Contains(other, "/c/shared") || !strings.Contains(other, "--bind /c/own /build/go/build") {
		t.Errorf("an untrusted command must see its own cache only:\n%s", other)
	}
	if len(s.Binds) != 2 || s.Binds[0].Host != "/c/own" {
		t.Errorf("Argv changed the sandbox's binds: %v", s.Binds)
	}
}
