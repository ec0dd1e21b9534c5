// Package buildkitd runs a BuildKit daemon from the stack's own unpacked
// upstream-buildkit and upstream-runc packages, for the tests and the
// benchmarks that need real workers: as root, with the OCI worker and no
// image pulls (debforge sends its build roots itself).
package buildkitd

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Daemon is one running buildkitd.
type Daemon struct {
	// Addr is its address as debforge and buildctl take it.
	Addr string
	// Log is the file its output goes to.
	Log    string
	dir    string
	cmd    *exec.Cmd
	exited chan error
}

// Start runs bin/usr/bin/buildkitd with bin/usr/bin/runc, its state in a
// fresh directory under the system temp dir and its output in logPath. It
// listens on a unix socket of its own, or on tcp (host:port) with the
// given extra flags (TLS). It returns once the address takes connections,
// or an error with the log's tail if the daemon exits or is not listening
// within a minute. The daemon dies with the calling process.
func Start(bin, logPath, tcp string, extra ...string) (*Daemon, error) {
	b := make([]byte, 4)
	rand.Read(b)
	dir := filepath.Join(os.TempDir(), "bk-"+hex.EncodeToString(b)) // a unix socket path must stay short
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	d := &Daemon{Addr: "unix://" + sock, Log: logPath, dir: dir, exited: make(chan error, 1)}
	network, dial := "unix", sock
	if tcp != "" {
		d.Addr, network, dial = "tcp://"+tcp, "tcp", tcp
	}
	logf, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close() // the daemon has its own descriptor
	args := append([]string{"--addr", d.Addr, "--root", filepath.Join(dir, "root"),
		"--oci-worker=true", "--containerd-worker=false", "--oci-worker-binary", filepath.Join(bin, "usr/bin/runc")}, extra...)
	d.cmd = exec.Command(filepath.Join(bin, "usr/bin/buildkitd"), args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its temporary mounts (file operations) go below dir too, so that
	// Stop finds them after a kill.
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	d.cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(dir, "tmp"))
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start buildkitd: %w", err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := net.DialTimeout(network, dial, time.Second)
		if err == nil {
			conn.Close()
			return d, nil
		}
		select {
		case werr := <-d.exited:
			d.exited <- werr
			d.Stop()
			return nil, fmt.Errorf("buildkitd exited (%v):\n%s", werr, d.tail())
		default:
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("buildkitd did not listen on %s within a minute: %v\n%s", d.Addr, err, d.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kill kills the daemon at once, as a crashed or unplugged worker goes.
func (d *Daemon) Kill() error { return d.cmd.Process.Kill() }

// Stop ends the daemon (SIGTERM, SIGKILL after 30 s), unmounts what it
// left mounted and removes its state.
func (d *Daemon) Stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		d.exited <- err // Stop may run again
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		d.exited <- <-d.exited
	}
	// A killed daemon leaves its snapshots' and executors' mounts below
	// its directory; one that stopped cleanly leaves none.
	for _, m := range d.Mounts() {
		exec.Command("umount", "-l", m).Run()
	}
	os.RemoveAll(d.dir)
}

// Mounts lists the mount points below the daemon's directory, deepest
// first.
func (d *Daemon) Mounts() []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], d.dir+"/") {
			out = append(out, f[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// tail is the last lines of the daemon's log.
func (d *Daemon) tail() string {
	data, _ := os.ReadFile(d.Log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
