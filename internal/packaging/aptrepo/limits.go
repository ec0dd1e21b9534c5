package aptrepo

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// ServeLimits bound what clients of serve can hold: without them, idle
// keep-alive connections piled up until file descriptors ran out and new
// clients timed out (issue 9 item 11).
type ServeLimits struct {
	// MaxConns is the most connections open at once; further clients wait
	// in the kernel's accept queue until one closes.
	MaxConns int
	// ReadHeaderTimeout bounds the request line and headers (slowloris),
	// ReadTimeout the whole request, WriteTimeout the whole response (a
	// client that reads a .deb slower than this is cut off), IdleTimeout a
	// keep-alive connection between requests.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes int
}

// DefaultServeLimits suit a LAN repository: 512 connections keep well
// below the usual 1024 file descriptors, 10 minutes lets a slow link fetch
// the largest .deb (35 MB at 60 KB/s).
var DefaultServeLimits = ServeLimits{
	MaxConns:          512,
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      10 * time.Minute,
	IdleTimeout:       60 * time.Second,
	MaxHeaderBytes:    16 << 10,
}

// NewServer returns an http.Server for the repository in dir with the
// timeouts of l, and the listener wrapper that enforces l.MaxConns.
func NewServer(dir string, l ServeLimits) (*http.Server, func(net.Listener) net.Listener) {
	srv := &http.Server{
		Handler:           Handler(dir),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
	return srv, func(ln net.Listener) net.Listener { return LimitListener(ln, l.MaxConns) }
}

// LimitListener accepts at most n connections at once (n <= 0: no limit).
// It is golang.org/x/net/netutil's idea in a few lines, without the
// dependency.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
