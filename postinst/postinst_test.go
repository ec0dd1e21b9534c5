package postinst

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

func TestRenderCombinesSnippetsPerHook(t *testing.T) {
	scripts, err := Render("pkg", []Snippet{
		{Template: "systemd-reload"},
		{Template: "notice", Vars: map[string]string{"message": "it's done"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 2 || scripts["postinst"] == "" || scripts["postrm"] == "" {
		t.Fatalf("hooks = %v", keys(scripts))
	}
	post := scripts["postinst"]
	for _, want := range []string{"#!/bin/sh\n", "set -e\n", "[ -d /run/systemd/system ]", `echo 'it'\''s done' >&2`, "\nexit 0\n"} {
		if !strings.Contains(post, want) {
			t.Errorf("postinst lacks %q:\n%s", want, post)
		}
	}
	if strings.Index(post, "daemon-reload") > strings.Index(post, "echo") {
		t.Error("snippets not in spec order")
	}
}

func TestRenderErrors(t *testing.T) {
	if _, err := Render("pkg", []Snippet{{Template: "nope"}}); err == nil || !strings.Contains(err.Error(), "known: notice, system-user, systemd-reload, systemd-service, user-restart-notice") {
		t.Errorf("unknown template: %v", err)
	}
	if _, err := Render("pkg", []Snippet{{Template: "notice"}}); err == nil {
		t.Error("missing var accepted")
	}
}

// Every template, rendered, passes shellcheck and runs in a chroot-like
// setting (no systemd) without failing.
func TestScriptsShellcheckAndRun(t *testing.T) {
	testutil.RequireTool(t, "shellcheck")
	var all []Snippet
	for _, n := range Names() {
		all = append(all, Snippet{Template: n, Vars: map[string]string{"message": "hello", "process": "containerd", "command": "systemctl --user restart containerd", "user": "_debforge-build", "unit": "debforge-test.service"}})
	}
	dir := t.TempDir()
	paths, err := Write(dir, "pkg", all)
	if err != nil {
		t.Fatal(err)
	}
	for hook, p := range paths {
		if out, err := exec.Command("shellcheck", "-s", "sh", p).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", hook, err, out)
		}
		if _, err := os.Stat("/run/systemd/system"); err == nil {
			continue // would reload the real systemd
		}
		if strings.Contains(string(mustReadFile(t, p)), "deb-systemd-helper") {
			continue // would change the host's unit state: TestSystemdService runs it with stand-ins
		}
		for _, arg := range []string{"configure", "remove", "purge"} {
			if out, err := exec.Command("sh", p, arg).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", filepath.Base(p), arg, err, out)
			}
		}
	}
}

// On upgrade, and only then, the notice names the user's command while a
// user (not root) runs the daemon; with no such process it says nothing.
func TestUserRestartNotice(t *testing.T) {
	name := "dfnotice-test" // comm holds 15 characters
	paths, err := Write(t.TempDir(), "upstream-x", []Snippet{{Template: "user-restart-notice", Vars: map[string]string{"process": name, "command": "systemctl --user restart x"}}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("sh", append([]string{paths["postinst"]}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("postinst %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("configure", "1.0-1"); out != "" {
		t.Errorf("upgrade with no %s running printed %q", name, out)
	}
	// A process named like the daemon, owned by a user: a shell that
	// renames itself, dropped to nobody when the test runs as root.
	loop := "printf %s " + name + " >/proc/self/comm; while :; do sleep 1; done"
	cmd := exec.Command("sh", "-c", loop)
	if os.Geteuid() == 0 {
		cmd = exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", loop)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	want := "upstream-x: running rootless " + name + " daemons keep the previous version until their user runs: systemctl --user restart x\n"
	var out string
	for i := 0; i < 50; i++ { // until the shell has renamed itself
		if out = run("configure", "1.0-1"); out != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out != want {
		t.Errorf("upgrade with a user's %s running printed %q, want %q", name, out, want)
	}
	if out := run("configure", ""); out != "" {
		t.Errorf("first install printed %q", out)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// system-user makes the account on configure, once: a system uid with its
// own group, no home and no login shell; configuring again changes nothing.
func TestSystemUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creates a real system user: needs root (make test runs as root)")
	}
	testutil.RequireTool(t, "adduser")
	name := fmt.Sprintf("_dftest-%d", os.Getpid())
	t.Cleanup(func() {
		exec.Command("userdel", name).Run()
		exec.Command("groupdel", name).Run()
	})
	paths, err := Write(t.TempDir(), "pkg", []Snippet{{Template: "system-user", Vars: map[string]string{"user": name}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if out, err := exec.Command("sh", paths["postinst"], "configure", "").CombinedOutput(); err != nil {
			t.Fatalf("postinst configure (run %d): %v\n%s", i+1, err, out)
		}
	}
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil {
		t.Fatalf("no user %s after configure: %v", name, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	uid, _ := strconv.Atoi(f[2])
	if uid == 0 || uid >= 1000 || f[5] != "/nonexistent" || f[6] != "/usr/sbin/nologin" {
		t.Errorf("account %q: want a system uid, home /nonexistent, shell /usr/sbin/nologin", out)
	}
	grp, err := exec.Command("getent", "group", f[3]).Output()
	if err != nil || !strings.HasPrefix(string(grp), name+":") {
		t.Errorf("primary group %s is not the account's own: %q %v", f[3], grp, err)
	}
}

// The system-user template's account name follows adduser's rules for a
// system account, and never names an account every Debian system has.
func TestSystemUserNameFollowsAdduserRules(t *testing.T) {
	for _, user := range []string{"_myservice", "myservice", "a-b_c9"} {
		if err := Check("system-user", map[string]string{"user": user}); err != nil {
			t.Errorf("%q refused: %v", user, err)
		}
	}
	for user, want := range map[string]string{
		"--uid=0":                "not a system account name",
		"":                       "not a system account name",
		"a b":                    "not a system account name",
		"Root":                   "not a system account name",
		"9lives":                 "not a system account name",
		"root":                   "every Debian system",
		"nobody":                 "every Debian system",
		strings.Repeat("a", 300): "32 at most",
	} {
		err := Check("system-user", map[string]string{"user": user})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "vars.user") {
			t.Errorf("%.20q: %v, want %q", user, err, want)
		}
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The systemd-service scripts make dh_installsystemd's calls: unmask and
// enable on a first configure (the enable state kept after), mask on
// remove, purge and unmask on purge; with enable: "no", no enable. The
// tools are stand-ins that log their arguments (this machine has no
// systemd; the booted guests are where the real ones run).
func TestSystemdService(t *testing.T) {
	stubs := t.TempDir()
	logFile := filepath.Join(stubs, "calls")
	for _, tool := range []string{"deb-systemd-helper", "deb-systemd-invoke", "systemctl"} {
		script := "#!/bin/sh\necho \"" + tool + " $*\" >> " + logFile + "\n"
		if tool == "deb-systemd-helper" {
			script += "[ \"$1\" = --quiet ] && [ \"$2\" = was-enabled ] && exit 0\n"
		}
		if err := os.WriteFile(filepath.Join(stubs, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(vars map[string]string, hook string, args ...string) string {
		t.Helper()
		os.Remove(logFile)
		paths, err := Write(t.TempDir(), "pkg", []Snippet{{Template: "systemd-service", Vars: vars}})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", append([]string{paths[hook]}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", hook, args, err, out)
		}
		b, _ := os.ReadFile(logFile)
		return strings.TrimSpace(string(b))
	}
	unit := map[string]string{"unit": "foo.service"}
	if got, want := run(unit, "postinst", "configure", ""), "deb-systemd-helper unmask foo.service\ndeb-systemd-helper --quiet was-enabled foo.service\ndeb-systemd-helper enable foo.service"; got != want {
		t.Errorf("postinst configure:\n%s\nwant:\n%s", got, want)
	}
	if got := run(map[string]string{"unit": "foo.service", "enable": "no"}, "postinst", "configure", ""); strings.Contains(got, " enable ") {
		t.Errorf("enable: no still enables:\n%s", got)
	}
	if got := run(unit, "postrm", "remove"); got != "deb-systemd-helper mask foo.service" {
		t.Errorf("postrm remove: %q", got)
	}
	if got := run(unit, "postrm", "purge"); got != "deb-systemd-helper purge foo.service\ndeb-systemd-helper unmask foo.service" {
		t.Errorf("postrm purge: %q", got)
	}
	for vars, want := range map[string]string{"foo": "not a unit name", "-x.service": "not a unit name"} {
		if err := Check("systemd-service", map[string]string{"unit": vars}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("unit %q: %v", vars, err)
		}
	}
	if err := Check("systemd-service", map[string]string{"unit": "foo.service", "start": "maybe"}); err == nil {
		t.Error("start: maybe accepted")
	}
}
