package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// httpClient is f.HTTP, or one client (made once, so connections are
// reused) whose connections time out: ConnectTimeout to connect and
// complete TLS, IdleTimeout for the response headers and for every read
// of the body. http.DefaultClient has neither, and a server that accepts
// and never answers hung the build.
func (f *Fetcher) httpClient() *http.Client {
	if f.HTTP != nil {
		return f.HTTP
	}
	f.clientOnce.Do(func() {
		connect, idle := f.timeouts()
		dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleConn{Conn: c, idle: idle}, nil
		}
		t.TLSHandshakeTimeout = connect
		t.ResponseHeaderTimeout = idle
		f.client = &http.Client{Transport: t}
	})
	return f.client
}

func (f *Fetcher) timeouts() (connect, idle time.Duration) {
	connect, idle = f.ConnectTimeout, f.IdleTimeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	return connect, idle
}

// idleConn moves its deadline forward before every read and write, so it
// ends a connection that stays silent for idle, not a long download.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// explainTimeout says which timeout ended a download; other errors pass
// through. stage is "no response" (connecting, or waiting for headers) or
// "stalled" (a pause in the body).
func (f *Fetcher) explainTimeout(err error, stage string) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	connect, idle := f.timeouts()
	if stage == "stalled" {
		return fmt.Errorf("download stalled: no data for %s (idle timeout): %w", idle, err)
	}
	return fmt.Errorf("no response from the server (connect timeout %s, idle timeout %s): %w", connect, idle, err)
}
