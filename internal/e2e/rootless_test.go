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

// enterScript enters root so that user namespaces work (a chroot cannot
// create them here): new mount and PID namespaces, the tree bound onto
// itself and pivot_root'ed into, a fresh /proc, /sys and /dev bound from the
// old root, a private /dev/net with a 0600 tun device (no udev, as on these
// machines), then the old root detached. The PID namespace ends every
// process left behind when the script exits.
const enterScript = `set -e
R="$1"; shift
mount --bind "$R" "$R"
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
mount -t proc proc /proc
mount --rbind /.oldroot/sys /sys
mount --rbind /.oldroot/dev /dev
mount -t tmpfs -o mode=0755 tmpfs /dev/net
mknod -m 0600 /dev/net/tun c 10 200
mount -t tmpfs -o mode=0755 tmpfs /run
umount -l /.oldroot
exec "$@"
`

// A non-root user runs and builds containers from the installed stack.
func TestRootlessUserRunsContainers(t *testing.T) {
	e, _ := stack(t)
	root := rootfs(t, "bookworm")
	withMirror(t, root, "bookworm")
	copySources(t, root, filepath.Join(e.out, "repo"), stackSources("bookworm"))
	if out, err := aptUpdate(root); err != nil {
		t.Fatalf("update: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "apt-get", "install", "-y", "rootless-containerd-stack", "busybox-static", "curl", "procps"); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	script, err := os.ReadFile("testdata/rootless-acceptance.sh")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Must(t, os.WriteFile(filepath.Join(root, "acceptance.sh"), script, 0o755))
	tunBefore, _ := os.Stat("/dev/net/tun")
	cmd := exec.Command("unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c", enterScript, "enter", root, "/bin/sh", "/acceptance.sh")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "STEP ") {
			t.Log(line)
		}
	}
	if err != nil || !strings.Contains(string(out), "ACCEPTANCE-OK") {
		t.Fatalf("acceptance script: %v\n%s", err, testutil.LastLines(string(out), 80))
	}
	// Nothing outside the tree changed: the helper's chmod hit the private
	// tun node, not the host's.
	if tunAfter, _ := os.Stat("/dev/net/tun"); tunBefore != nil && (tunAfter == nil || tunAfter.Mode() != tunBefore.Mode()) {
		t.Errorf("host /dev/net/tun changed: %v -> %v", tunBefore.Mode(), tunAfter.Mode())
	}
	if out, _ := exec.Command("pgrep", "-f", "containerd-rootless|buildkitd --oci-worker=false").Output(); len(out) > 0 {
		t.Errorf("daemons still running after the test: %s", out)
	}
}
