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

// Every package installs, removes and purges cleanly in bookworm and in
// trixie, each from its own dists/<release> (piuparts: no files left
// behind, none owned twice, /opt untouched), the meta-package with all
// its dependencies too.
func TestStackPiuparts(t *testing.T) {
	for _, release := range []string{"bookworm", "trixie"} {
		t.Run(release, func(t *testing.T) { piupartsRelease(t, release) })
	}
}

func piupartsRelease(t *testing.T, release string) {
	testutil.RequireTool(t, "piuparts")
	e, r := stack(t)
	mirror := testutil.DebianMirror()
	if mirror == "" {
		t.Fatal("no Debian mirror configured on this host")
	}
	// piuparts bind-mounts the repository at the same path inside its chroot.
	dir, err := os.MkdirTemp("/var/tmp", "debforge-piuparts-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	testutil.Must(t, os.Chmod(dir, 0o755))
	repo := filepath.Join(dir, "repo")
	sh(t, "cp", "-a", filepath.Join(e.out, "repo"), repo)
	keys, _ := filepath.Glob(filepath.Join(repo, "*.gpg"))
	if len(keys) != 1 {
		t.Fatalf("keys: %v", keys)
	}
	base := filepath.Join(dir, "base.tgz")
	tree := rootfs(t, release)
	if release != "bookworm" {
		// trixie's libpam-systemd (dbus-user-session, which the
		// meta-package pulls in) depends on systemd-sysv, which is
		// "Protected: yes": apt will not remove it, so piuparts cannot
		// purge it again. Every trixie host with systemd has it (priority
		// important; minbase leaves it out): the base gets it too.
		testutil.Must(t, os.WriteFile(filepath.Join(tree, "etc/apt/sources.list"), []byte("deb "+mirror+" "+release+" main\n"), 0o644))
		if out, err := inRoot(tree, "sh", "-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q systemd-sysv && apt-get clean"); err != nil {
			t.Fatalf("install systemd-sysv into the %s base: %v\n%s", release, err, testutil.LastLines(out, 20))
		}
		os.Remove(filepath.Join(tree, "etc/apt/sources.list"))
	}
	sh(t, "tar", "-C", tree, "-czf", base, ".")
	var pkgs []string
	for _, deb := range stackDebs(t, r, release, "amd64") {
		pkgs = append(pkgs, strings.SplitN(filepath.Base(deb), "_", 2)[0])
	}
	for _, p := range pkgs {
		t.Run(p, func(t *testing.T) {
			args := []string{"-b", base, "-d", release, "-m", mirror,
				"--bindmount=" + repo,
				"--extra-repo=deb [signed-by=" + keys[0] + "] file://" + repo + " " + release + " main"}
			// The meta-package pulls in systemd (dbus-user-session ->
			// libpam-systemd), whose purge leaves these state directories;
			// piuparts.debian.org ignores the same ones for systemd.
			ignore := []string{"/root/.ssh/", "/var/cache/private/", "/var/lib/private/", "/var/lib/systemd/coredump/", "/var/lib/systemd/pstore/", "/var/log/private/"}
			for _, d := range ignore {
				args = append(args, "--ignore="+d)
			}
			cmd := exec.Command("piuparts", append(args, "--apt", p)...)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "PASS: All tests.") {
				t.Errorf("piuparts %s on %s: %v\n%s", p, release, err, testutil.LastLines(string(out), 40))
			}
		})
	}
}
