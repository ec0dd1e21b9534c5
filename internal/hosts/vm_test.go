//go:build hosts

// Package hosts proves the stack on real booted Debian machines: a guest
// image made from Debian's packages, booted under QEMU's software
// emulation (this machine has no hardware virtualisation), driven over ssh
// as the admin and as a user who logged in (not su).
package hosts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// guestPackages is what a guest needs to be a systemd host an admin and
// users log into; the stack's own dependencies come from the mirror at
// install time, so purge can be checked against them.
var guestPackages = []string{
	"systemd-sysv", "udev", "dbus", "dbus-user-session", "libpam-systemd",
	"linux-image-amd64", "initramfs-tools", "openssh-server", "iproute2",
	"sudo", "curl", "ca-certificates",
}

// vmCache holds the images between runs, beside the test roots.
const vmCache = "/var/cache/debforge-test/vm"

// step prints how long each step took, the figure the README quotes.
func step(t *testing.T, name string, start time.Time) {
	t.Helper()
	// Parallel tests (bookworm's flow beside the failed-boot test)
	// interleave their lines: the test's name tells them apart.
	msg := fmt.Sprintf("STEP %s %s %.1f", t.Name(), name, time.Since(start).Seconds())
	fmt.Fprintln(os.Stderr, msg)
	t.Log(msg)
}

// requireTools fails (never skips) when DEBFORGE_REQUIRE_TOOLS=1 and a tool
// the guests need is missing.
func requireTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the hosts tests build disk images with real root ownership: run them as root (make host-test)")
	}
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "mmdebstrap", "mkfs.ext4", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: %v\nhint: make host-test installs qemu-system-x86, qemu-utils, mmdebstrap and openssh-client", tool, err)
		}
	}
}

// image is a cached guest: a base disk that is never written (each boot
// gets a qcow2 overlay), its kernel and initramfs, and the ssh key baked
// into it.
type image struct {
	release, dir string
}

func (i image) disk() string   { return filepath.Join(i.dir, "disk.raw") }
func (i image) kernel() string { return filepath.Join(i.dir, "vmlinuz") }
func (i image) initrd() string { return filepath.Join(i.dir, "initrd.img") }
func (i image) key() string    { return filepath.Join(i.dir, "key") }

// imageKey is the content hash of what makes an image: the recipe script,
// the package list, the release and the mirror.
func imageKey(release, mirror string) (string, error) {
	script, err := os.ReadFile("testdata/mkimage.sh")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", release, mirror, strings.Join(guestPackages, ","))
	h.Write(script)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// buildImage runs the recipe into dir (made fresh) and returns the last
// lines of its output on failure. The recipe removes its root tree on any
// exit; mmdebstrap unmounts what it mounted.
func buildImage(ctx context.Context, release, mirror, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	key := filepath.Join(dir, "key")
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "debforge-guest", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	script, err := filepath.Abs("testdata/mkimage.sh")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "sh", script, release, mirror, dir, key+".pub", strings.Join(guestPackages, ","))
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("guest image %s from mirror %s: %s: %v\n%s", release, mirror, filepath.Base(script), err, testutil.LastLines(out.String(), 25))
	}
	return nil
}

// imageBuilds makes tests that run side by side wait for one build of an
// image: the second would replace the first's directory while it boots.
var imageBuilds sync.Mutex

// guestImage returns the cached image of release, building it once.
func guestImage(t *testing.T, release string) image {
	t.Helper()
	imageBuilds.Lock()
	defer imageBuilds.Unlock()
	mirror := testutil.DebianMirror()
	if mirror == "" {
		t.Fatal("no Debian mirror in /etc/apt/sources.list.d/debian.sources")
	}
	key, err := imageKey(release, mirror)
	if err != nil {
		t.Fatal(err)
	}
	img := image{release: release, dir: filepath.Join(vmCache, release+"-"+key)}
	if _, err := os.Stat(filepath.Join(img.dir, "ok")); err == nil {
		return img
	}
	start := time.Now()
	if err := os.MkdirAll(vmCache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(vmCache, ".build-"+release+"-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := buildImage(t.Context(), release, mirror, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "ok"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(img.dir) // a half-written one from a killed run
	if err := os.Rename(tmp, img.dir); err != nil {
		t.Fatal(err)
	}
	step(t, "image-"+release, start)
	return img
}

// bootOpts are what a test may change about a boot.
type bootOpts struct {
	append  string        // extra kernel arguments
	timeout time.Duration // until ssh answers; default 10 min
	fwd     []int         // guest TCP ports forwarded to free host ports
}

// guest is one running QEMU.
type guest struct {
	img     image
	overlay string
	opts    bootOpts
	cmd     *exec.Cmd
	exited  chan struct{}
	console string
	ssh     int
	fwd     map[int]int // guest port -> host port
}

// freePort asks the kernel for a free local TCP port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const baseAppend = "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 mitigations=off"

// boot starts a guest on a fresh overlay of img and waits for ssh. The
// QEMU process is killed in t.Cleanup whatever happens. On a timeout QEMU
// is killed at once and the error carries the serial console's tail (the
// guest is still returned, for its pid and paths).
func boot(t *testing.T, img image, o bootOpts) (*guest, error) {
	t.Helper()
	overlay := filepath.Join(t.TempDir(), "overlay.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", img.disk(), overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	return start(t, img, overlay, o)
}

// start runs QEMU on overlay and waits for ssh.
func start(t *testing.T, img image, overlay string, o bootOpts) (*guest, error) {
	t.Helper()
	g := &guest{img: img, overlay: overlay, opts: o, console: filepath.Join(t.TempDir(), "console.log"), ssh: freePort(t), fwd: map[int]int{}, exited: make(chan struct{})}
	nic := fmt.Sprintf("user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%d-:22", g.ssh)
	for _, p := range o.fwd {
		g.fwd[p] = freePort(t)
		nic += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", g.fwd[p], p)
	}
	args := []string{
		"-accel", "tcg,tb-size=256", "-cpu", "max", "-smp", "1", "-m", "1024",
		"-nodefaults", "-display", "none", "-no-user-config",
		"-kernel", img.kernel(), "-initrd", img.initrd(),
		"-append", strings.TrimSpace(baseAppend + " " + o.append),
		// cache=unsafe: the overlay is thrown away with the test, so the
		// guest's flushes need not reach the host's disk.
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2,discard=unmap,cache=unsafe",
		"-nic", nic,
		"-serial", "file:" + g.console,
		"-device", "virtio-rng-pci",
	}
	g.cmd = exec.Command("qemu-system-x86_64", args...)
	// Its own process group, so cleanup reaches it and nothing it spawns
	// outlives the test; and it dies with the test binary.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var qerr bytes.Buffer
	g.cmd.Stderr = &qerr
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("qemu: %v", err)
	}
	go func() { g.cmd.Wait(); close(g.exited) }()
	launched := time.Now()
	t.Cleanup(func() {
		g.kill()
		// How busy emulation kept a core: the guests' share of make
		// test's time, beside the phases' table.
		ps := g.cmd.ProcessState
		fmt.Fprintf(os.Stderr, "QEMU %s %s: %.0f s of CPU in %.0f s\n", t.Name(), img.release, (ps.UserTime() + ps.SystemTime()).Seconds(), time.Since(launched).Seconds())
	})
	timeout := o.timeout
	if timeout == 0 {
		// Failure detection, not a speed check: a boot beside another
		// guest and a build has taken over 5 min.
		timeout = 10 * time.Minute
	}
	begin := time.Now()
	if err := g.waitSSH(timeout, ""); err != nil {
		g.kill()
		return g, fmt.Errorf("%v\nqemu: %s\nserial console (last lines):\n%s", err, strings.TrimSpace(qerr.String()), g.consoleTail(30))
	}
	step(t, "boot-"+img.release, begin)
	return g, nil
}

// restart powers the guest off cleanly and boots its disk again with
// other kernel arguments (a reboot keeps QEMU's -append).
func (g *guest) restart(t *testing.T, o bootOpts) *guest {
	t.Helper()
	g.sshCmd("root", 20*time.Second, "systemctl poweroff")
	select {
	case <-g.exited:
	case <-time.After(5 * time.Minute):
		t.Fatalf("guest did not power off within 5 min:\n%s", g.consoleTail(30))
	}
	n, err := start(t, g.img, g.overlay, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// kill stops QEMU (its whole process group) and waits until it is gone.
func (g *guest) kill() {
	if g.cmd.Process == nil {
		return
	}
	syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	<-g.exited
}

func (g *guest) consoleTail(n int) string {
	data, _ := os.ReadFile(g.console)
	return testutil.LastLines(strings.ReplaceAll(string(data), "\r", ""), n)
}

// waitSSH polls until root's ssh answers with a boot id other than
// notBoot (after a reboot), QEMU exits or the timeout passes.
func (g *guest) waitSSH(timeout time.Duration, notBoot string) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-g.exited:
			return fmt.Errorf("qemu exited before the guest answered ssh")
		default:
		}
		// One call per poll: this loop is the retry, sshCmd's own would
		// only nest a second one inside it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, _, err := g.sshOnce(ctx, "root", "cat /proc/sys/kernel/random/boot_id")
		cancel()
		if err == nil && strings.TrimSpace(out) != notBoot && strings.TrimSpace(out) != "" {
			return nil
		}
		time.Sleep(2 * time.Second)
	}
	return fmt.Errorf("guest %s did not answer ssh on 127.0.0.1:%d within %s", g.img.release, g.ssh, timeout)
}

// sshCmd runs a shell command in the guest as user (a real ssh login:
// PAM, logind, a systemd user manager), with a bounded time. A
// connection that fails before the command was sent (a guest under
// emulation on a loaded host can miss ssh's 10 s banner deadline) is
// tried again, twice at most: the command never ran. One that fails
// after is not: the command may have run.
func (g *guest) sshCmd(user string, timeout time.Duration, script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		out, sent, err := g.sshOnce(ctx, user, script)
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s: %w", timeout, ctx.Err())
		}
		if err == nil || sent || ctx.Err() != nil || attempt == 3 {
			return out, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

// sshOnce is one ssh call; sent reports whether the command reached the
// guest. On failure the error carries ssh's own log: a dropped
// connection and a remote command killed by a signal both end in exit
// status 255, and ssh says which only in its debug log ("Timeout, server
// not responding", "rtype exit-signal"), which goes to a file (-E) so
// that the command's output stays the command's.
func (g *guest) sshOnce(ctx context.Context, user, script string) (out string, sent bool, err error) {
	logFile, err := os.CreateTemp("", "debforge-ssh-*.log")
	if err != nil {
		return "", false, err
	}
	logFile.Close()
	defer os.Remove(logFile.Name())
	cmd := exec.CommandContext(ctx, "ssh", "-i", g.img.key(), "-p", strconv.Itoa(g.ssh),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "ConnectTimeout=10", "-o", "LogLevel=DEBUG1", "-E", logFile.Name(),
		// A guest under emulation on a loaded host can go quiet for a
		// long while (one trixie run lost a call, with no word, about 50 s
		// after the step before it ended, right after lingering started a
		// user manager: close to the old 45 s keepalive limit). The caller's timeout is what ends a hung command; the
		// keepalive only finds a guest that is gone (5 min).
		"-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=20",
		// A login shell, as a user who logs in gets: /etc/profile.d puts
		// /usr/sbin (iptables, for nerdctl's networking) on bookworm's
		// PATH only there; a bare "ssh host cmd" shell does not read it.
		user+"@127.0.0.1", "exec bash -lc "+shellQuote(script))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	data, _ := os.ReadFile(logFile.Name())
	log := string(data)
	sent = strings.Contains(log, "Sending command: ")
	if err != nil {
		if tail := sshLog(log); tail != "" {
			err = fmt.Errorf("%w\nssh said:\n%s", err, tail)
		}
	}
	return buf.String(), sent, err
}

// sshLog is what ssh logged, less the known-hosts notice every call
// gets (UserKnownHostsFile=/dev/null).
func sshLog(log string) string {
	var kept []string
	for _, line := range strings.Split(strings.ReplaceAll(log, "\r", ""), "\n") {
		if line != "" && !strings.HasPrefix(line, "Warning: Permanently added") {
			kept = append(kept, line)
		}
	}
	return testutil.LastLines(strings.Join(kept, "\n"), 20)
}

// run is sshCmd that fails the test with the command's output, and with
// the serial console's tail (a kernel oops, the OOM killer, a hung task)
// when ssh itself failed.
func (g *guest) run(t *testing.T, user, script string) string {
	t.Helper()
	out, err := g.sshCmd(user, 15*time.Minute, script)
	if err != nil {
		var ee *exec.ExitError
		console := ""
		if !errors.As(err, &ee) || ee.ExitCode() == 255 {
			console = "\nserial console (last lines):\n" + g.consoleTail(30)
		}
		t.Fatalf("as %s in %s guest: %s\n%v\n%s%s", user, g.img.release, script, err, testutil.LastLines(out, 40), console)
	}
	return out
}

// containerDiagnosis is what a failed container start is explained
// with: the containers, their logs, the user's containerd and the kernel.
const containerDiagnosis = `nerdctl ps -a 2>&1 | tail -5; for c in $(nerdctl ps -aq 2>/dev/null); do echo "== logs $c"; nerdctl logs $c 2>&1 | tail -10; done
echo "== containerd (user unit)"; journalctl --user -u containerd -n 40 --no-pager 2>&1
echo "== kernel"; sudo -n journalctl -k -n 20 --no-pager 2>&1 || dmesg 2>&1 | tail -20`

// reboot reboots the guest from inside and waits for the new boot.
func (g *guest) reboot(t *testing.T) {
	t.Helper()
	id := strings.TrimSpace(g.run(t, "root", "cat /proc/sys/kernel/random/boot_id"))
	g.sshCmd("root", 20*time.Second, "systemctl reboot")
	if err := g.waitSSH(10*time.Minute, id); err != nil {
		t.Fatalf("%v\nserial console (last lines):\n%s", err, g.consoleTail(30))
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// mountsUnder lists mount points at or below dir.
func mountsUnder(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			found = append(found, f[4])
		}
	}
	return found
}

// qemuUsing lists the pids of processes whose command line names path.
func qemuUsing(path string) []string {
	var pids []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(path)) && bytes.Contains(data, []byte("qemu")) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}
