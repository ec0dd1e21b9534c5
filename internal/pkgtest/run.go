package pkgtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// repoMount is where the published repository appears inside the tree.
const repoMount = "/srv/debforge-repo"

// User is the unprivileged user tests run as unless they ask for root.
const (
	User    = "debforge-test"
	userUID = "1000"
	userDir = "/home/" + User
)

// installScript adds the repository as an apt source verified with its
// own key ($KEY), installs the package and the tests' needs ("$@") as a
// host's apt would (Recommends too), and adds the test user.
const installScript = `set -eu
cat >/etc/apt/sources.list.d/debforge-test.sources <<EOF
Types: deb
URIs: file:` + repoMount + `
Suites: $CODENAME
Components: $COMPONENT
Signed-By: ` + repoMount + `/$KEY.gpg
EOF
apt-get update -q
apt-get install -q -y -o Dpkg::Use-Pty=0 "$@"
echo "` + User + `:x:` + userUID + `:` + userUID + `:debforge test user:` + userDir + `:/bin/sh" >>/etc/passwd
echo "` + User + `:x:` + userUID + `:" >>/etc/group
echo "` + User + `:*:19000:0:99999:7:::" >>/etc/shadow
mkdir -p ` + userDir + ` && chown ` + userUID + `:` + userUID + ` ` + userDir + `
`

// cannotRun says why programs of arch do not run here ("" when they do).
func (tr *Tester) cannotRun(arch string) string {
	if arch == tr.HostArch || arch == "all" {
		return ""
	}
	qemu, err := debian.QemuOf(arch)
	if err != nil {
		return err.Error()
	}
	if err := sandbox.CheckEmulation(arch, qemu); err != nil {
		return err.Error()
	}
	return ""
}

// runFresh installs the package into a throwaway copy of base and runs
// the tests there, filling in res and keeping it and its log by key.
func (tr *Tester) runFresh(ctx context.Context, res *Result, pub published, tests []spec.Test, base *buildroot.Root, t Target) error {
	start := time.Now()
	work := filepath.Join(tr.CacheDir, "work")
	if err := os.MkdirAll(tr.keptDir(), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	tree, err := os.MkdirTemp(work, t.Release+"-"+t.Arch+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	logPath := filepath.Join(tr.keptDir(), res.Key+".log")
	err = atomicfile.WriteWith(logPath, 0o644, func(log io.Writer) error {
		if err := tr.copyRoot(ctx, base.FS, tree, log); err != nil {
			return err
		}
		if err := tr.install(ctx, tree, pub, tests, t, log); err != nil {
			// A package that does not install fails its tests, as it
			// would fail on a host.
			fmt.Fprintf(log, "== %v\n", err)
			res.Status, res.Reason = Failed, "apt could not install it (see the log)"
			return nil
		}
		tr.runTests(ctx, res, tests, tree, log)
		return nil
	})
	if err != nil {
		return fmt.Errorf("test %s on %s: %w", pub.Name, t, err)
	}
	res.Seconds = time.Since(start).Seconds()
	res.Log = logPath
	data, _ := json.MarshalIndent(res, "", "  ")
	return atomicfile.Write(filepath.Join(tr.keptDir(), res.Key+".json"), append(data, '\n'), 0o644)
}

// copyRoot copies the clean root base to tree (which must be empty).
func (tr *Tester) copyRoot(ctx context.Context, base, tree string, log io.Writer) error {
	if err := os.Remove(tree); err != nil {
		return err
	}
	cp := execx.Cmd{Args: []string{"cp", "-a", "--reflink=auto", base, tree}}
	if err := execx.RunLogged(ctx, tr.Runner, cp, log); err != nil {
		return fmt.Errorf("copy the clean root: %w", err)
	}
	return nil
}

// install installs the package and the tests' needs into tree with apt.
func (tr *Tester) install(ctx context.Context, tree string, pub published, tests []spec.Test, t Target, log io.Writer) error {
	// No service a package ships starts in the tree, as in a build root.
	if err := os.WriteFile(filepath.Join(tree, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(tree, repoMount), 0o755); err != nil {
		return err
	}
	pkgs := []string{pub.Name + "=" + pub.Version}
	for _, tc := range tests {
		pkgs = append(pkgs, tc.Needs...)
	}
	fmt.Fprintf(log, "== install %s into a clean %s root\n", strings.Join(pkgs, " "), t)
	args := []string{"bwrap", "--bind", tree, "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
		"--ro-bind", tr.RepoDir, repoMount}
	if _, err := os.Stat("/etc/resolv.conf"); err == nil {
		args = append(args, "--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf")
	}
	args = append(args, "--clearenv", "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin",
		"--setenv", "DEBIAN_FRONTEND", "noninteractive", "--setenv", "LC_ALL", "C.UTF-8",
		"--setenv", "CODENAME", t.Codename, "--setenv", "COMPONENT", tr.Component, "--setenv", "KEY", tr.KeyName,
		"sh", "-c", installScript, "install-package")
	if err := execx.RunLogged(ctx, tr.Runner, execx.Cmd{Args: append(args, pkgs...)}, log); err != nil {
		return fmt.Errorf("install %s: %w", pub.Name, err)
	}
	return nil
}

// runTests runs each test in tree without network, in namespaces of its
// own, and records its outcome in res.
func (tr *Tester) runTests(ctx context.Context, res *Result, tests []spec.Test, tree string, log io.Writer) {
	res.Status = Passed
	for _, tc := range tests {
		fmt.Fprintf(log, "== test %s (as %s)\n$ %s\n", tc.Name, userOf(tc), tc.Run)
		start := time.Now()
		code, err := tr.runOne(ctx, tc, tree, log)
		r := TestResult{Name: tc.Name, Status: Passed, ExitCode: code, Seconds: time.Since(start).Seconds()}
		if code != 0 || err != nil {
			r.Status = Failed
			why := fmt.Sprintf("exit status %d", code)
			if err != nil {
				why = err.Error()
			}
			fmt.Fprintf(log, "== test %s failed: %s\n", tc.Name, why)
			if res.Status == Passed {
				res.Status, res.Reason = Failed, "test "+tc.Name+" failed: "+why
			}
		} else {
			fmt.Fprintf(log, "== test %s passed\n", tc.Name)
		}
		res.Tests = append(res.Tests, r)
	}
}

func userOf(tc spec.Test) string {
	if tc.Root {
		return "root"
	}
	return User
}

// runOne runs tc and returns its exit status; err is set when it could
// not run to its end (the timeout, bwrap failing).
func (tr *Tester) runOne(ctx context.Context, tc spec.Test, tree string, log io.Writer) (int, error) {
	timeout := tr.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{"bwrap", "--bind", tree, "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
		"--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "debforge-test", "--die-with-parent"}
	home, cmd := "/root", []string{"sh", "-e", "-c", tc.Run}
	if tc.Root {
		// Root of a user namespace of its own: root over the copy's
		// files, no privilege over the host (no device nodes, no mounts
		// of its disks), however hostile the package it runs.
		args = append(args, "--unshare-user", "--uid", "0", "--gid", "0")
	} else {
		home = userDir
		cmd = append([]string{"runuser", "-u", User, "--"}, cmd...)
	}
	args = append(args, "--clearenv", "--setenv", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--setenv", "LC_ALL", "C.UTF-8", "--setenv", "HOME", home, "--setenv", "USER", userOf(tc), "--chdir", home)
	err := tr.Runner.Run(ctx, execx.Cmd{Args: append(args, cmd...)}, log)
	if ctx.Err() == context.DeadlineExceeded {
		return -1, fmt.Errorf("still running after %s", timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
