//go:build hosts

package hosts

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// A guest that never reaches ssh (a mistyped root= on the kernel command
// line: the initramfs gives up and waits on the console) is killed after
// the timeout; the error names the timeout and shows the serial console,
// where the cause is; no QEMU is left behind. (A mistyped init= does not
// do: Debian's initramfs falls back to /sbin/init.)
func TestGuestNeverReachesSSH(t *testing.T) {
	t.Parallel() // most of it is waiting for the timeout
	requireTools(t)
	img := guestImage(t, "bookworm")
	g, err := boot(t, img, bootOpts{append: "root=/dev/vdz rootdelay=5", timeout: 150 * time.Second})
	if err == nil {
		t.Fatalf("a guest with root=/dev/vdz answered ssh")
	}
	msg := err.Error()
	t.Logf("the error, as a user sees it:\n%s", msg)
	for _, want := range []string{"did not answer ssh", "within 2m30s", "serial console", "/dev/vdz does not exist"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	if testutil.Alive(g.cmd.Process.Pid) {
		t.Errorf("QEMU (pid %d) still runs after the failed boot", g.cmd.Process.Pid)
	}
	if pids := qemuUsing(g.overlay); len(pids) > 0 {
		t.Errorf("QEMU processes still use the overlay: %v", pids)
	}
}

// An image build that cannot reach the mirror fails with mmdebstrap's
// reason and the mirror named, and leaves no mount and no root tree.
func TestImageWithoutMirror(t *testing.T) {
	requireTools(t)
	dir := filepath.Join(t.TempDir(), "img")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// Port 9 (discard) on loopback: nothing listens, the connection is refused.
	mirror := "http://127.0.0.1:9/debian"
	err := buildImage(ctx, "bookworm", mirror, dir)
	if err == nil {
		t.Fatal("an image built from an unreachable mirror")
	}
	msg := err.Error()
	for _, want := range []string{"guest image bookworm", mirror, "mkimage.sh"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(msg, "127.0.0.1") || !strings.Contains(strings.ToLower(msg), "connection refused") && !strings.Contains(msg, "Failed to fetch") && !strings.Contains(msg, "apt-get update failed") {
		t.Errorf("error does not give the network cause:\n%s", msg)
	}
	if m := mountsUnder(dir); len(m) > 0 {
		t.Errorf("mounts left behind: %v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "root")); !os.IsNotExist(err) {
		t.Errorf("root tree left behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "disk.raw")); !os.IsNotExist(err) {
		t.Errorf("a disk image was written: %v", err)
	}
}

// An ssh connection that fails before the command is sent is tried again,
// three times in all, and the error carries ssh's own words: here a
// listener that hangs up on every connection, as a guest's sshd does
// when it refuses a source.
func TestSSHRetriesOnlyUnsentCommands(t *testing.T) {
	requireTools(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	dir := t.TempDir()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "key")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	g := &guest{img: image{release: "none", dir: dir}, ssh: l.Addr().(*net.TCPAddr).Port}
	_, err = g.sshCmd("root", time.Minute, "touch /ran")
	if err == nil {
		t.Fatal("ssh to a listener that hangs up succeeded")
	}
	if n := len(accepted); n != 3 {
		t.Errorf("%d connections, want 3 (one and two retries)", n)
	}
	// ssh names the hang-up as "Connection closed by remote host" or,
	// when its own banner was still unsent, "Connection reset by peer":
	// both in the key exchange's first step.
	if !strings.Contains(err.Error(), "ssh said:") || !strings.Contains(err.Error(), "kex_exchange_identification") {
		t.Errorf("the error does not carry ssh's reason:\n%v", err)
	}
}
