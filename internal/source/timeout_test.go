package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/spec"
)

// stallingServer accepts connections and then, after writing prefix
// (nothing, or headers and part of a body), never says another word.
func stallingServer(t *testing.T, prefix string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				buf := make([]byte, 4096)
				c.Read(buf) // the request; then silence
				io.WriteString(c, prefix)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/pkg-1.0.tar.gz"
}

// Issue 9 item 15: a server that accepts and never answers hung the build
// until a signal. Connect and idle timeouts end the download with a clear
// error; the test shortens them. The context's own deadline is only a
// safety net: the download must end with a timeout error before it.
func TestDownloadTimeouts(t *testing.T) {
	cases := []struct {
		name, prefix, want string
	}{
		{"accepts and never answers", "", "no response"},
		{"stalls in the body", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", "stalled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := stallingServer(t, tc.prefix)
			f := &Fetcher{CacheDir: t.TempDir(), ConnectTimeout: time.Second, IdleTimeout: 300 * time.Millisecond}
			c := &spec.Component{Name: "pkg", Source: &spec.Source{Tarball: url, SHA256: strings.Repeat("0", 64)}}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_, err := f.Fetch(ctx, c, "", io.Discard)
			var ue *UnreachableError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want UnreachableError", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("the download ran into the test's safety deadline: %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "300ms") || !strings.Contains(msg, url) {
				t.Errorf("error %q should name the URL, say %q and the 300ms timeout", msg, tc.want)
			}
			t.Logf("error: %v", err)
		})
	}
}

// The idle timeout is not a total one: a body that trickles in, a byte
// every 100ms for 1s, finishes with IdleTimeout 300ms (and then fails
// the checksum, which is the point: it was read to the end).
func TestDownloadSlowButSteadyIsNotCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
		for i := 0; i < 10; i++ {
			time.Sleep(100 * time.Millisecond)
			io.WriteString(c, "x")
		}
	}()
	f := &Fetcher{CacheDir: t.TempDir(), ConnectTimeout: time.Second, IdleTimeout: 300 * time.Millisecond}
	c := &spec.Component{Name: "pkg", Source: &spec.Source{Tarball: "http://" + ln.Addr().String() + "/x.tar.gz", SHA256: strings.Repeat("0", 64)}}
	_, err = f.Fetch(context.Background(), c, "", io.Discard)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("err = %v, want the whole body read (a checksum mismatch)", err)
	}
}

// Issue 9 item 15: the connect timeout covers the TLS handshake. A server
// that accepts the TCP connection but never answers the ClientHello ends
// the download after ConnectTimeout (300ms here), well before the idle
// timeout (5 s) or the transport's default 10 s handshake timeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	url := "https://" + strings.TrimPrefix(stallingServer(t, ""), "http://")
	took, err := fetchWithConnectTimeout(t, url, 15*time.Second)
	// Functional bound: 300ms by design, 3 s leaves room on a loaded machine.
	if took > 3*time.Second {
		t.Errorf("the handshake took %v to time out, want about 300ms", took.Round(time.Millisecond))
	}
	if msg := err.Error(); !strings.Contains(msg, "no response") || !strings.Contains(msg, "connect timeout 300ms") || !strings.Contains(msg, url) {
		t.Errorf("error %q should name the URL and the 300ms connect timeout", msg)
	}
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
}

// fullBacklog returns the address of a listening socket that never
// accepts and whose accept queue is full (listen backlog 0, then filled
// with connections that are kept open): the kernel drops further SYNs, so
// a new connect neither succeeds nor is refused, like a blackholed host.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("filling the backlog of %s: %v", addr, err)
			}
			return addr
		}
		t.Cleanup(func() { c.Close() })
		if i == 64 {
			t.Fatalf("%s still accepts connections after %d: the backlog does not fill", addr, i)
		}
	}
}

// Issue 9 item 15, the TCP connect itself: a host that never answers the
// SYN (here a listener whose backlog is full) ends the download after
// ConnectTimeout (300ms), not after the kernel's SYN retries (about two
// minutes) and not after the idle timeout (5 s).
func TestConnectTimeout(t *testing.T) {
	url := "http://" + fullBacklog(t) + "/pkg-1.0.tar.gz"
	took, err := fetchWithConnectTimeout(t, url, 10*time.Second)
	if took > 3*time.Second {
		t.Errorf("the connect took %v to time out, want about 300ms", took.Round(time.Millisecond))
	}
	if msg := err.Error(); !strings.Contains(msg, "no response") || !strings.Contains(msg, "connect timeout 300ms") || !strings.Contains(msg, "dial tcp") || !strings.Contains(msg, url) {
		t.Errorf("error %q should name the URL, the dial and the 300ms connect timeout", msg)
	}
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
}

// fetchWithConnectTimeout fetches a tarball from url with a 300ms connect
// timeout and a 5 s idle timeout, within deadline, and returns how long it took and the error
// (which must be an UnreachableError).
func fetchWithConnectTimeout(t *testing.T, url string, deadline time.Duration) (time.Duration, error) {
	t.Helper()
	f := &Fetcher{CacheDir: t.TempDir(), ConnectTimeout: 300 * time.Millisecond, IdleTimeout: 5 * time.Second}
	c := &spec.Component{Name: "pkg", Source: &spec.Source{Tarball: url, SHA256: strings.Repeat("0", 64)}}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	_, err := f.Fetch(ctx, c, "", io.Discard)
	took := time.Since(start)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want UnreachableError", err)
	}
	return took, err
}
