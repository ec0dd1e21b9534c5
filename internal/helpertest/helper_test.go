// Package helpertest tests the packaged rootless-containerd-setup shell
// helper branch by branch. The systemd branches cannot run on these
// machines, so fake systemctl, loginctl, usermod and setup tool programs on
// PATH record how they are called.
package helpertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

const script = "../../specs/files/setup/rootless-containerd-setup"

type sandbox struct {
	t                *testing.T
	dir, bin, record string
	env              []string
}

// newSandbox makes fake tools and state files; systemd says whether the
// fake host runs systemd.
func newSandbox(t *testing.T, systemd bool) *sandbox {
	t.Helper()
	s := &sandbox{t: t, dir: t.TempDir()}
	testutil.Must(t, os.Chmod(s.dir, 0o755))
	testutil.Must(t, os.Chmod(filepath.Dir(s.dir), 0o755)) // t.TempDir parents are 0700: let nobody in
	s.bin = filepath.Join(s.dir, "bin")
	s.record = filepath.Join(s.dir, "calls")
	testutil.Must(t, os.MkdirAll(s.bin, 0o755))
	testutil.Must(t, os.WriteFile(s.record, nil, 0o666))
	testutil.Must(t, os.Chmod(s.record, 0o666))
	fake := func(name, body string) {
		testutil.Must(t, os.WriteFile(filepath.Join(s.bin, name), []byte("#!/bin/sh\necho \""+name+" $*\" >> "+s.record+"\n"+body+"\n"), 0o755))
	}
	fake("systemctl", "exit 0")
	fake("loginctl", `[ "$1" = show-user ] && { cat `+s.dir+`/linger 2>/dev/null || echo no; }; [ "$1" = enable-linger ] && echo yes > `+s.dir+`/linger; exit 0`)
	// usermod appends the ranges it is given, like the real one.
	fake("usermod", `for u; do :; done; while [ $# -gt 1 ]; do case $1 in --add-subuids) r=$2; echo "$u:${r%-*}:65536" >> `+s.dir+`/subuid;; --add-subgids) r=$2; echo "$u:${r%-*}:65536" >> `+s.dir+`/subgid;; esac; shift; done`)
	fake("containerd-rootless-setuptool.sh", `echo "CONTAINERD_NAMESPACE=${CONTAINERD_NAMESPACE:-}" >> `+s.record+`; exit 0`)
	fake("rootlesskit", "exit 0")
	testutil.Must(t, os.WriteFile(filepath.Join(s.dir, "subuid"), []byte("other:100000:65536\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(s.dir, "subgid"), []byte("other:100000:65536\n"), 0o644))
	testutil.Must(t, os.MkdirAll(filepath.Join(s.dir, "proc/user"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(s.dir, "proc/user/max_user_namespaces"), []byte("1000\n"), 0o644))
	sdDir := filepath.Join(s.dir, "no-systemd")
	if systemd {
		sdDir = filepath.Join(s.dir, "systemd")
		testutil.Must(t, os.MkdirAll(sdDir, 0o755))
	}
	s.env = []string{
		"PATH=" + s.bin + ":/usr/sbin:/usr/bin:/sbin:/bin",
		"SUBUID_FILE=" + filepath.Join(s.dir, "subuid"), "SUBGID_FILE=" + filepath.Join(s.dir, "subgid"),
		"TUN_DEVICE=" + filepath.Join(s.dir, "tun"), "PROC_SYS=" + filepath.Join(s.dir, "proc"),
		"CGROUP_ROOT=" + filepath.Join(s.dir, "cgroup"), "SYSTEMD_RUN_DIR=" + sdDir,
	}
	return s
}

// run runs the helper as root, or as nobody when asUser is set.
func (s *sandbox) run(asUser bool, extraEnv []string, args ...string) (string, int) {
	s.t.Helper()
	argv := append([]string{"sh", script}, args...)
	if asUser {
		argv = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string{}, s.env...), extraEnv...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return string(out), code
}

func (s *sandbox) calls() string {
	b, _ := os.ReadFile(s.record)
	return string(b)
}

func requireRoot(t *testing.T) {
	testutil.RequireTool(t, "setpriv")
	if os.Geteuid() != 0 {
		// Like a missing tool: skipped on a developer's machine, a
		// failure where every test must run.
		if os.Getenv("DEBFORGE_REQUIRE_TOOLS") == "1" {
			t.Fatal("runs the helper as root and as nobody: needs root (DEBFORGE_REQUIRE_TOOLS=1)")
		}
		t.Skip("runs the helper as root and as nobody")
	}
}

func TestShellcheck(t *testing.T) {
	testutil.RequireTool(t, "shellcheck")
	for _, f := range []string{script, "../../specs/files/setup/profile.sh"} {
		if out, err := exec.Command("shellcheck", "-s", "sh", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f, err, out)
		}
	}
}

func TestEnableUserIsIdempotent(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t, true)
	out, code := s.run(false, nil, "enable-user", "--linger", "nobody")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(s.calls(), "usermod --add-subuids 165536-231071 --add-subgids 165536-231071 nobody") {
		t.Errorf("usermod not called with the next free range:\n%s", s.calls())
	}
	if !strings.Contains(s.calls(), "loginctl enable-linger nobody") {
		t.Errorf("linger not enabled:\n%s", s.calls())
	}
	before := s.calls()
	out, code = s.run(false, nil, "enable-user", "--linger", "nobody")
	if code != 0 || !strings.Contains(out, "nothing changed") {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	if strings.Contains(strings.TrimPrefix(s.calls(), before), "usermod") || strings.Contains(strings.TrimPrefix(s.calls(), before), "enable-linger") {
		t.Errorf("second run changed something:\n%s", s.calls())
	}
}

func TestEnableUserNeedsRootAndAUser(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t, true)
	if out, code := s.run(true, nil, "enable-user", "nobody"); code == 0 || !strings.Contains(out, "needs root") {
		t.Errorf("as a user: exit %d\n%s", code, out)
	}
	if out, code := s.run(false, nil, "enable-user", "no-such-user-xyz"); code == 0 || !strings.Contains(out, "no such user") {
		t.Errorf("unknown user: exit %d\n%s", code, out)
	}
}

func TestInstallRefusesRootAndSuShells(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t, true)
	if out, code := s.run(false, nil, "install"); code == 0 || !strings.Contains(out, "not as root") {
		t.Errorf("as root: exit %d\n%s", code, out)
	}
	out, code := s.run(true, []string{"XDG_RUNTIME_DIR="}, "install")
	if code == 0 || !strings.Contains(out, "machinectl shell") {
		t.Errorf("su shell: exit %d\n%s", code, out)
	}
}

func userRuntimeDir(t *testing.T, s *sandbox) string {
	d := filepath.Join(s.dir, "run-user")
	testutil.Must(t, os.MkdirAll(d, 0o700))
	os.Chown(d, 65534, 65534)
	return d
}

func TestInstallWithSystemdUsesUpstreamTool(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t, true)
	env := []string{"XDG_RUNTIME_DIR=" + userRuntimeDir(t, s), "HOME=" + s.dir}
	out, code := s.run(true, env, "install")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := "containerd-rootless-setuptool.sh check\nCONTAINERD_NAMESPACE=\ncontainerd-rootless-setuptool.sh install\nCONTAINERD_NAMESPACE=\ncontainerd-rootless-setuptool.sh install-buildkit-containerd\nCONTAINERD_NAMESPACE=default\n"
	if got := strings.ReplaceAll(s.calls(), "systemctl --user show-environment\n", ""); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	out, code = s.run(true, env, "uninstall")
	if code != 0 || !strings.Contains(out, "kept images") || !strings.Contains(s.calls(), "setuptool.sh uninstall") {
		t.Errorf("uninstall: exit %d\n%s\n%s", code, out, s.calls())
	}
	out, _ = s.run(true, env, "uninstall", "--purge")
	if !strings.Contains(s.calls(), "rootlesskit rm -rf") || !strings.Contains(out, "removed images") {
		t.Errorf("purge: %s\n%s", out, s.calls())
	}
}

func TestDoctorReportsEachCondition(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t, false)
	out, code := s.run(false, nil, "doctor", "nobody")
	if code != 1 {
		t.Errorf("exit %d, want 1 (no subordinate IDs)", code)
	}
	for _, want := range []string{
		"fail  " + s.dir + "/subuid: 0 subordinate IDs for nobody (need 65536)",
		"fix: sudo rootless-containerd-setup enable-user nobody",
		"ok    user.max_user_namespaces = 1000",
		"warn  cgroup v1",
		"fail  " + s.dir + "/tun not usable by nobody",
		"warn  systemd is not running",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	testutil.Must(t, os.WriteFile(filepath.Join(s.dir, "subuid"), []byte("nobody:200000:65536\n"), 0o644))
	out, _ = s.run(false, nil, "doctor", "nobody")
	if !strings.Contains(out, "ok    "+s.dir+"/subuid: 65536 subordinate IDs for nobody") {
		t.Errorf("after fixing subuid:\n%s", out)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(s.dir, "proc/user/max_user_namespaces"), []byte("0\n"), 0o644))
	if out, _ := s.run(false, nil, "doctor", "nobody"); !strings.Contains(out, "fail  user.max_user_namespaces = 0") {
		t.Errorf("max_user_namespaces 0 not reported:\n%s", out)
	}
}

func TestUsage(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t, false)
	if out, code := s.run(false, nil, "frobnicate"); code != 2 || !strings.Contains(out, "unknown command") {
		t.Errorf("exit %d\n%s", code, out)
	}
}
