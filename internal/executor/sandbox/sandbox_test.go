package sandbox

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/execx"
)

// The argv is the sandbox's whole contract: check it without running it.
func TestArgv(t *testing.T) {
	s := &Sandbox{Root: "/roots/r", Env: []string{"PATH=/bin", "A=1"}, Binds: []Bind{
		{Host: "/w/src", Path: "/build/src", Write: true},
		{Host: "/c/mod", Path: "/build/go/mod"},
	}}
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
		if !slices.Contains(argv, "--reuid=65534") || argv[0] != "setpriv" {
			t.Errorf("as root the build must drop to 65534 first: %s", got)
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
	os.Chmod(d, 0o700)
	os.Mkdir(d+"/x", 0o755)
	err := CheckReachable(d + "/x")
	if err == nil || !strings.Contains(err.Error(), d+" is mode 0700") {
		t.Errorf("err = %v", err)
	}
}
