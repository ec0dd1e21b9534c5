//go:build stack

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// Every package installs, removes and purges cleanly in bookworm (piuparts:
// no files left behind, none owned twice, /opt untouched), the
// meta-package with all its dependencies too.
func TestStackPiuparts(t *testing.T) {
	testutil.RequireTool(t, "piuparts")
	e, r := stack(t)
	mirror := debianMirror()
	if mirror == "" {
		t.Fatal("no Debian mirror configured on this host")
	}
	// piuparts bind-mounts the repository at the same path inside its chroot.
	dir, err := os.MkdirTemp("/var/tmp", "debforge-piuparts-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	repo := filepath.Join(dir, "repo")
	sh(t, "cp", "-a", filepath.Join(e.out, "repo"), repo)
	keys, _ := filepath.Glob(filepath.Join(repo, "*.gpg"))
	if len(keys) != 1 {
		t.Fatalf("keys: %v", keys)
	}
	base := filepath.Join(dir, "base.tgz")
	tree := rootfs(t, "bookworm")
	sh(t, "tar", "-C", tree, "-czf", base, ".")
	var pkgs []string
	for _, deb := range strings.Fields(r.stdout) {
		pkgs = append(pkgs, strings.SplitN(filepath.Base(deb), "_", 2)[0])
	}
	for _, p := range pkgs {
		t.Run(p, func(t *testing.T) {
			args := []string{"-b", base, "-d", "bookworm", "-m", mirror,
				"--bindmount=" + repo,
				"--extra-repo=deb [signed-by=" + keys[0] + "] file://" + repo + " debforge main"}
			// The meta-package pulls in systemd (dbus-user-session ->
			// libpam-systemd), whose purge leaves these state directories;
			// piuparts.debian.org ignores the same ones for systemd.
			for _, d := range []string{"/root/.ssh/", "/var/cache/private/", "/var/lib/private/", "/var/lib/systemd/coredump/", "/var/lib/systemd/pstore/", "/var/log/private/"} {
				args = append(args, "--ignore="+d)
			}
			cmd := exec.Command("piuparts", append(args, "--apt", p)...)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "PASS: All tests.") {
				t.Errorf("piuparts %s: %v\n%s", p, err, lastLines(string(out), 40))
			}
		})
	}
}
