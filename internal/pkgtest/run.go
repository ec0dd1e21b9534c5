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

// User is the unprivileged user (uid 1000) tests run as unless they ask
// for root.
const (
	User    = "debforge-test"
	userDir = "/home/" + User
)

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

// runFresh installs the package into a throwaway tree over base and runs
// the tests there, filling in res and keeping it and its log by key.
func (tr *Tester) runFresh(ctx context.Context, res *Result, pub published, tests []spec.Test, base *buildroot.Root, t Target) error {
	start := time.Now()
	if err := os.MkdirAll(tr.keptDir(), 0o755); err != nil {
		return err
	}
	tree, err := tr.workDir("", t)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	logPath := filepath.Join(tr.keptDir(), res.Key+".log")
	keep := true
	err = atomicfile.WriteWith(logPath, 0o644, func(log io.Writer) error {
		remove, err := tr.newTree(ctx, base.FS, tree, log)
		if err != nil {
			return err
		}
		defer remove()
		lists, err := tr.lists(ctx, t, base.FS)
		if err == nil {
			err = tr.install(ctx, tree, pub, tests, t, lists, log)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// A package that does not install fails its tests, as it
			// would fail on a host. The mirror may only have been out of
			// reach, so the result is not kept: the next run tries again.
			fmt.Fprintf(log, "== %v\n", err)
			res.Status, res.Reason, keep = Failed, "apt could not install it (see the log)", false
			return nil
		}
		if err := tr.addUser(ctx, tree, log); err != nil {
			return err
		}
		tr.runTests(ctx, res, tests, tree, t.Arch != tr.HostArch, log)
		// An interrupted run's results are not results.
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("test %s on %s: %w", pub.Name, t, err)
	}
	res.Seconds = time.Since(start).Seconds()
	res.Log = logPath
	if !keep {
		return nil
	}
	data, _ := json.MarshalIndent(res, "", "  ")
	return atomicfile.Write(filepath.Join(tr.keptDir(), res.Key+".json"), append(data, '\n'), 0o644)
}

// newTree makes tree, an empty directory, a writable view of the clean
// root base: an overlay mount over it where this process may mount (as
// root), so that nothing is copied and the clean root is the read-only
// lower layer; else a copy. It returns what removes the view.
func (tr *Tester) newTree(ctx context.Context, base, tree string, log io.Writer) (func(), error) {
	upper, work := tree+".upper", tree+".work"
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	removeLayers := func() { os.RemoveAll(upper); os.RemoveAll(work) }
	mount := execx.Cmd{Args: []string{"mount", "-t", "overlay", "overlay", "-o",
		"lowerdir=" + base + ",upperdir=" + upper + ",workdir=" + work, tree}}
	if err := execx.RunLogged(ctx, tr.Runner, mount, log); err == nil {
		return func() {
			// Lazily: the tests' processes are gone (bwrap dies with its
			// parent), but nothing may keep the layers behind.
			if err := tr.Runner.Run(context.Background(), execx.Cmd{Args: []string{"umount", "--lazy", tree}}, log); err == nil {
				removeLayers()
			}
		}, nil
	}
	removeLayers()
	fmt.Fprintf(log, "== no overlay mount here: copying the clean root instead\n")
	if err := os.Remove(tree); err != nil {
		return nil, err
	}
	cp := execx.Cmd{Args: []string{"cp", "-a", "--reflink=auto", base, tree}}
	if err := execx.RunLogged(ctx, tr.Runner, cp, log); err != nil {
		return nil, fmt.Errorf("copy the clean root: %w", err)
	}
	return func() {}, nil
}

// runTests runs each test in tree without network, in namespaces of its
// own, and records its outcome in res. On an emulated target a native
// test is not run; the package passes when every test that ran passed,
// and is not run when none could.
func (tr *Tester) runTests(ctx context.Context, res *Result, tests []spec.Test, tree string, emulated bool, log io.Writer) {
	var notRun []string
	for _, tc := range tests {
		if tc.Native && emulated {
			fmt.Fprintf(log, "== test %s not run: it is native, and this host runs the target under qemu-user\n", tc.Name)
			res.Tests = append(res.Tests, TestResult{Name: tc.Name, Status: NotRun})
			notRun = append(notRun, tc.Name)
			continue
		}
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
			if res.Status != Failed {
				res.Status, res.Reason = Failed, "test "+tc.Name+" failed: "+why
			}
		} else {
			fmt.Fprintf(log, "== test %s passed\n", tc.Name)
		}
		res.Tests = append(res.Tests, r)
	}
	switch {
	case res.Status == Failed:
	case len(notRun) == len(tests):
		res.Status, res.Reason = NotRun, "every test is native, and the target runs under qemu-user"
	default:
		res.Status = Passed
		if len(notRun) > 0 {
			res.Reason = "not run under qemu-user: " + strings.Join(notRun, ", ")
		}
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
		"--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "debforge-test", "--die-with-parent",
		// sysfs read-only, as a container runtime finds its cgroups there.
		"--ro-bind", "/sys", "/sys"}
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
