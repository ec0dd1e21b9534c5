package aptrepo

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveWith publishes a test repository, adds a sparse file of size bytes
// (big.bin) if size > 0, and serves it with limits; it returns the address.
func serveWith(t *testing.T, limits ServeLimits, size int64) string {
	t.Helper()
	repo := t.TempDir()
	if err := Publish(testConfig(t, repo)); err != nil {
		t.Fatal(err)
	}
	if size > 0 {
		f, err := os.Create(filepath.Join(repo, "big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	srv, wrap := NewServer(repo, limits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(wrap(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// Issue 9 item 11, ReadTimeout: a client that sends its headers at once
// and then trickles a request body (a byte every 50ms, 100 kB promised)
// holds the connection only until ReadTimeout (300ms here; the header
// timeout is 5 s, so it is ReadTimeout that ends it), not for as long as
// it keeps trickling.
func TestServeReadTimeout(t *testing.T) {
	limits := DefaultServeLimits
	limits.ReadHeaderTimeout = 5 * time.Second
	limits.ReadTimeout = 300 * time.Millisecond
	addr := serveWith(t, limits, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "GET /dists/tc/Release HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	closed := make(chan time.Duration, 1)
	go func() {
		// The response comes, then the end of the connection.
		io.Copy(io.Discard, c)
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(5 * time.Second)
	for {
		select {
		case took := <-closed:
			if took > 3*time.Second {
				t.Errorf("the server closed the slow request after %v, want about 300ms", took.Round(time.Millisecond))
			}
			t.Logf("slow request body cut after %v", took.Round(time.Millisecond))
			return
		case <-tick.C:
			c.Write([]byte("x")) // an error here is the server's close: wait for the reader
		case <-limit:
			t.Fatalf("the server still read the trickled body after 5 s (ReadTimeout %v)", limits.ReadTimeout)
		}
	}
}

// Issue 9 item 11, WriteTimeout: a client that asks for a large file (64
// MiB) and never reads it is cut off after WriteTimeout (300ms here):
// when it finally reads, it gets what the socket buffers held and then the
// end of the connection, not the whole file.
func TestServeWriteTimeout(t *testing.T) {
	const size = 64 << 20
	limits := DefaultServeLimits
	limits.WriteTimeout = 300 * time.Millisecond
	addr := serveWith(t, limits, size)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(64 << 10)
	fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(1500 * time.Millisecond) // never reading, well past the timeout
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("after %d bytes the connection was still open 10 s later (WriteTimeout %v)", n, limits.WriteTimeout)
	}
	if n >= size {
		t.Errorf("the client got all %d bytes although it read nothing for 1.5 s (WriteTimeout %v)", n, limits.WriteTimeout)
	}
	if n == 0 || err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("read %d bytes, %v: want the start of the response, then the end of the connection", n, err)
	}
	t.Logf("the idle reader got %d of %d bytes, then %v", n, size, err)
}
