package aptrepo

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// Issue 9 item 3: serve served the private key when it sat in the
// repository, and everything else in out/repo (dotfiles, .snapshots,
// .tmp-* files, listings), and any stray file under pool/. It now serves
// only what publish wrote: under pool/, the files the index lists and
// their companions.
func TestServeOnlyWhatPublishWrote(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	deb := testDeb(t, repo, "alpha", "1.0", "first test package")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(repo, deb)
	rel = filepath.ToSlash(rel)
	// What an attacker hopes to find: the key copied into the repository
	// (armored and binary), leftovers, and a link out of the tree.
	// The reproduction: the signing key generated inside the repository.
	if _, _, err := LoadOrCreateKey(filepath.Join(repo, "signing-key.asc"), "Test", "t@example.org"); err != nil {
		t.Fatal(err)
	}
	secret := t.TempDir()
	testutil.Must(t, os.WriteFile(filepath.Join(secret, "shadow"), []byte("root:secret\n"), 0o600))
	for name, data := range map[string][]byte{
		"pool/signing-key.gpg":        {0x95, 0x01, 0x02, 0x03},
		".secret":                     []byte("dotfile"),
		".tmp-Packages-123":           []byte("half written"),
		"dists/.hidden":               []byte("x"),
		"pool/notes.txt":              []byte("a file publish did not write"),
		"pool/main/a/alpha/notes.txt": []byte("nor this"),
		// Beside an indexed .deb, as AddToPool copies it.
		strings.TrimSuffix(rel, ".deb") + ".buildinfo": []byte("Format: 1.0\n"),
		"pool/main/a/alpha/.env":                       []byte("TOKEN=1"),
	} {
		if err := os.WriteFile(filepath.Join(repo, filepath.FromSlash(name)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A package no index lists (put into the pool by hand, after publish).
	stray := testDeb(t, repo, "stray", "1.0", "never published")
	strayRel, _ := filepath.Rel(repo, stray)
	testutil.Must(t, os.Symlink(filepath.Join(secret, "shadow"), filepath.Join(repo, "leak")))
	testutil.Must(t, os.Symlink(secret, filepath.Join(repo, "pool", "leakdir")))
	snaps, _ := os.ReadDir(filepath.Join(repo, ".snapshots"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot")
	}
	srv := httptest.NewServer(Handler(repo))
	defer srv.Close()
	for path, want := range map[string]int{
		"/signing-key.asc":        404,
		"/pool/signing-key.gpg":   404,
		"/.secret":                404,
		"/.tmp-Packages-123":      404,
		"/dists/.hidden":          404,
		"/pool/main/a/alpha/.env": 404,
		"/.snapshots/":            404,
		"/.snapshots/" + snaps[0].Name() + "/InRelease": 404,
		"/%2esnapshots/":               404,
		"/dists/tc/../../.secret":      404,
		"/leak":                        404,
		"/pool/leakdir/shadow":         404,
		"/pool/":                       404, // no listings
		"/dists/":                      404,
		"/pool/main/":                  404,
		"/" + strings.Repeat("a", 256): 404, // item 11: not 500
		"/pool/" + strings.Repeat("b", 300) + "/x": 404,
		"/" + strings.Repeat("c/", 3000):           404,
		"/":                                        200,
		"/dists/tc/InRelease":                      200,
		"/dists/tc/main/binary-amd64/Packages.gz":  200,
		"/test-archive-keyring.asc":                200,
		"/test-archive-keyring.gpg":                200,
		"/test-archive-keyring.sources":            200,
		"/" + rel:                                  200,
		"/" + strings.TrimSuffix(rel, ".deb") + ".buildinfo": 200,
		// Under pool/ only what the index lists, and its companions.
		"/pool/notes.txt":                404,
		"/pool/main/a/alpha/notes.txt":   404,
		"/" + filepath.ToSlash(strayRel): 404,
		"/pool/main/a/alpha/":            404,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %.60s: %d, want %d", path, resp.StatusCode, want)
		}
		if strings.Contains(string(body), "PRIVATE KEY") || strings.Contains(string(body), "root:secret") {
			t.Errorf("GET %.60s leaked a secret", path)
		}
	}
	// Once a publish indexes it, the same server serves it.
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/" + filepath.ToSlash(strayRel))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET %s after the publish that indexed it: %d", strayRel, resp.StatusCode)
	}
}

// Issue 9 item 11: idle connections must not lock out new clients.
// 300 idle connections against a limit of 50: new clients are still
// served because idle ones are closed by the header timeout, and the
// server never holds more than the limit.
func TestServeLimitsIdleConnections(t *testing.T) {
	repo := t.TempDir()
	if err := Publish(testConfig(t, repo)); err != nil {
		t.Fatal(err)
	}
	limits := DefaultServeLimits
	limits.MaxConns = 50
	limits.ReadHeaderTimeout = 300 * time.Millisecond
	limits.IdleTimeout = 300 * time.Millisecond
	srv, wrap := NewServer(repo, limits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countListener{Listener: wrap(ln), mu: make(chan struct{}, 1)}
	go srv.Serve(counted)
	defer srv.Close()
	addr := ln.Addr().String()

	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := 0; i < 300; i++ {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	// A keep-alive client that made one request and then went quiet.
	ka, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	idle = append(idle, ka)
	fmt.Fprintf(ka, "GET /dists/tc/Release HTTP/1.1\r\nHost: x\r\n\r\n")

	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Get("http://" + addr + "/dists/tc/Release")
	if err != nil {
		t.Fatalf("a new client was not served with 300 idle connections open: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	t.Logf("new client served after %v", time.Since(start))
	if max := counted.max(); max > limits.MaxConns {
		t.Errorf("%d connections open at once, limit %d", max, limits.MaxConns)
	}
	// The idle keep-alive connection was closed by the server.
	ka.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(ka)
	if r, err := http.ReadResponse(br, nil); err == nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("idle keep-alive connection still open")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("idle keep-alive connection not closed by the server within 5 s")
	}
}

type countListener struct {
	net.Listener
	mu        chan struct{}
	open, top int
}

func (l *countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.lock()
	l.open++
	if l.open > l.top {
		l.top = l.open
	}
	l.unlock()
	return &countConn{Conn: c, l: l}, nil
}

func (l *countListener) lock()    { l.mu <- struct{}{} }
func (l *countListener) unlock()  { <-l.mu }
func (l *countListener) max() int { l.lock(); defer l.unlock(); return l.top }

type countConn struct {
	net.Conn
	l      *countListener
	closed bool
}

func (c *countConn) Close() error {
	c.l.lock()
	if !c.closed {
		c.closed = true
		c.l.open--
	}
	c.l.unlock()
	return c.Conn.Close()
}
