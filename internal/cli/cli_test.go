package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// specsDir writes debforge.yaml and the given specs (name -> extra YAML
// lines) as meta-packages: they build with no tools at all.
func specsDir(t *testing.T, specs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("debforge.yaml", "maintainer: \"A B <a@example.org>\"\n")
	for name, extra := range specs {
		write(name+".yaml", "name: "+name+"\nversion: \"1.0\"\nsummary: s\ndescription: d\nlicense: MIT\n"+extra)
	}
	return dir
}

// run executes the CLI in-process with its own out, cache and key paths.
func run(t *testing.T, specs string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	tmp := t.TempDir()
	base := []string{"--specs", specs, "--out", filepath.Join(tmp, "out"), "--cache-dir", filepath.Join(tmp, "cache"),
		"--signing-key", filepath.Join(tmp, "key", "signing-key.asc")}
	var o, e bytes.Buffer
	if code := Execute(context.Background(), append(base, "keygen"), &o, &e); code != 0 {
		t.Fatalf("keygen: exit %d\n%s", code, e.String())
	}
	o.Reset()
	e.Reset()
	code = Execute(context.Background(), append(base, args...), &o, &e)
	return code, o.String(), e.String()
}

// Issue 9 item 14: unknown names, a cycle and bad --jobs values are usage
// errors (exit 2, as README says), and they write nothing.
func TestExitCodesForUsageErrors(t *testing.T) {
	plain := specsDir(t, map[string]string{"aa": "", "bb": "after: [aa]\n"})
	cycle := specsDir(t, map[string]string{"aa": "after: [bb]\n", "bb": "after: [aa]\n"})
	targets := specsDir(t, map[string]string{"aa": "", "bb": ""})
	if err := os.WriteFile(filepath.Join(targets, "debforge.yaml"), []byte("maintainer: \"A B <a@example.org>\"\ntargets: [bookworm/amd64]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, specs string
		args        []string
		want        string
	}{
		{"unknown component", plain, []string{"build", "zz"}, "unknown component zz"},
		{"unknown --except", plain, []string{"build", "--except", "zz"}, "--except zz: unknown component"},
		{"cycle in build", cycle, []string{"build"}, "dependency cycle"},
		{"cycle in fetch", cycle, []string{"fetch"}, "dependency cycle"},
		{"--jobs 0", plain, []string{"--jobs", "0", "build"}, "--jobs 0: must be 1 or more"},
		{"--jobs -1", plain, []string{"-j", "-1", "build"}, "--jobs -1: must be 1 or more"},
		{"unknown --rebuild", plain, []string{"build", "--rebuild", "zz"}, "--rebuild zz: unknown component"},
		{"unknown --source", plain, []string{"build", "--source", "zz=" + plain}, "--source zz: unknown component\ndebforge: hint: known: aa, bb"},
		{"unknown --source in fetch", plain, []string{"fetch", "--source", "zz=" + plain}, "--source zz: unknown component"},
		{"bad --arch (item 5)", plain, []string{"--arch", "x/../../../tmp/y", "publish"}, "not a Debian architecture name"},
		{"bad --arch in build (item 5)", plain, []string{"--arch", "..", "build"}, "not a Debian architecture name"},
		{"--arch beside targets", targets, []string{"--arch", "sparc99", "build"}, "--arch sparc99: " + filepath.Join(targets, "debforge.yaml") + " has targets:"},
		{"unknown subcommand of a group", plain, []string{"root", "frobnicate"}, `unknown command "frobnicate" for "debforge root"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.specs, tc.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d\n%s", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
			if e, h := strings.Count(stderr, "debforge: error: "), strings.Count(stderr, "debforge: hint: "); e != 1 || h != 1 {
				t.Errorf("%d error lines and %d hint lines, want one of each:\n%s", e, h, stderr)
			}
		})
	}
	if code, _, stderr := run(t, plain, "--jobs", "1", "build", "bb"); code != ExitOK {
		t.Errorf("a valid build failed (%d):\n%s", code, stderr)
	}
}

// Issue 9 item 14: an unknown script template or a missing template
// variable failed only at packaging time; validate names file:line:col.
func TestValidateChecksScriptTemplates(t *testing.T) {
	for _, tc := range []struct{ extra, want string }{
		{"package:\n  scripts: [{template: nosuch}]\n", `aa.yaml:7:24: package.scripts[0]: unknown script template "nosuch" (known: notice, system-user, systemd-reload, systemd-service, user-restart-notice)`},
		{"package:\n  scripts:\n    - template: notice\n", "aa.yaml:8:17: package.scripts[0]: template notice needs vars: message"},
	} {
		dir := specsDir(t, map[string]string{"aa": tc.extra})
		code, _, stderr := run(t, dir, "validate")
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("exit %d, want 2 and %q in:\n%s", code, tc.want, stderr)
		}
	}
	dir := specsDir(t, map[string]string{"aa": "package:\n  scripts: [{template: notice, vars: {message: hi}}, {template: systemd-reload}]\n"})
	if code, _, stderr := run(t, dir, "validate"); code != ExitOK {
		t.Errorf("valid scripts refused:\n%s", stderr)
	}
}

// execute runs the CLI with a deadline, so a serve that should have been
// refused cannot hang the test.
func execute(args ...string) (int, string) {
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code := Execute(ctx, args, &o, &e)
	return code, e.String()
}

// Issue 9 item 3: 'publish --signing-key out/repo/signing-key.asc' was
// accepted and serve then served the private key. A key under --out is
// refused however it is named: directly, through a symlink, through a
// symlinked --out, or through DEBFORGE_SIGNING_KEY, and so is a
// --previous-signing-key there; and nothing is written.
func TestSigningKeyUnderOutRefused(t *testing.T) {
	specs := specsDir(t, map[string]string{"aa": ""})
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	cache := filepath.Join(tmp, "cache")
	testutil.Must(t, os.MkdirAll(filepath.Join(tmp, "real-out", "repo"), 0o755))
	testutil.Must(t, os.Symlink(filepath.Join(tmp, "real-out", "repo"), filepath.Join(tmp, "keys")))
	testutil.Must(t, os.Symlink(filepath.Join(tmp, "real-out"), filepath.Join(tmp, "out-link")))
	outside := filepath.Join(t.TempDir(), "k.asc") // a valid place, never written
	for _, tc := range []struct {
		name string
		env  string
		args []string
	}{
		{"the issue's reproduction", "", []string{"--out", out, "--signing-key", filepath.Join(out, "repo", "signing-key.asc"), "publish"}},
		{"relative path", "", []string{"--out", out, "--signing-key", filepath.Join(out, "repo", "..", "k.asc"), "build"}},
		{"symlink into out", "", []string{"--out", filepath.Join(tmp, "real-out"), "--signing-key", filepath.Join(tmp, "keys", "k.asc"), "publish"}},
		{"symlinked out", "", []string{"--out", filepath.Join(tmp, "out-link"), "--signing-key", filepath.Join(tmp, "real-out", "repo", "k.asc"), "build"}},
		{"environment", filepath.Join(out, "repo", "env.asc"), []string{"--out", out, "publish"}},
		{"serve", "", []string{"--out", filepath.Join(tmp, "real-out"), "--signing-key", filepath.Join(tmp, "real-out", "repo", "k.asc"), "serve", "--addr", "127.0.0.1:0"}},
		{"keygen", "", []string{"--out", out, "--signing-key", filepath.Join(out, "repo", "new.asc"), "keygen"}},
		// A key being rotated out is as private as the current one.
		{"previous key, publish", "", []string{"--out", out, "--signing-key", outside, "--previous-signing-key", filepath.Join(out, "repo", "old.asc"), "publish"}},
		{"previous key, build", "", []string{"--out", out, "--signing-key", outside, "--previous-signing-key", outside, "--previous-signing-key", filepath.Join(out, "repo", "..", "old.asc"), "build"}},
		{"previous key, serve", "", []string{"--out", filepath.Join(tmp, "real-out"), "--signing-key", outside, "--previous-signing-key", filepath.Join(tmp, "keys", "old.asc"), "serve", "--addr", "127.0.0.1:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DEBFORGE_SIGNING_KEY", tc.env)
			code, stderr := execute(append([]string{"--specs", specs, "--cache-dir", cache}, tc.args...)...)
			want := "signing key "
			if strings.HasPrefix(tc.name, "previous key") {
				want = "--previous-signing-key "
			}
			if code != ExitUsage || !strings.Contains(stderr, "debforge: error: "+want) || !strings.Contains(stderr, "is inside the output directory") || !strings.Contains(stderr, "debforge: hint: keep the private key outside --out") {
				t.Errorf("exit %d, want 2 and a refusal:\n%s", code, stderr)
			}
			var files []string
			filepath.Walk(tmp, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() && info.Mode()&os.ModeSymlink == 0 {
					files = append(files, p)
				}
				return nil
			})
			if len(files) > 0 {
				t.Errorf("wrote %v", files)
			}
		})
	}
}

// Issue 9 item 8, through the CLI: a --signing-key path, or
// DEBFORGE_SIGNING_KEY, that does not exist is a usage error for build
// and publish; no key is made (there or at the default path) and nothing
// is published. Only the default path, named by neither, gets a first key.
func TestNamedMissingKeyNeverCreatedThroughCLI(t *testing.T) {
	specs := specsDir(t, map[string]string{"aa": ""})
	for _, tc := range []struct {
		name string
		env  bool
		cmd  string
	}{
		{"--signing-key, publish", false, "publish"},
		{"--signing-key, build", false, "build"},
		{"DEBFORGE_SIGNING_KEY, publish", true, "publish"},
		{"DEBFORGE_SIGNING_KEY, build", true, "build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("XDG_DATA_HOME", filepath.Join(tmp, "data")) // the default key path
			missing := filepath.Join(tmp, "missing", "path", "key.asc")
			args := []string{"--specs", specs, "--out", filepath.Join(tmp, "out"), "--cache-dir", filepath.Join(tmp, "cache")}
			if tc.env {
				t.Setenv("DEBFORGE_SIGNING_KEY", missing)
			} else {
				t.Setenv("DEBFORGE_SIGNING_KEY", "")
				args = append(args, "--signing-key", missing)
			}
			code, stderr := execute(append(args, tc.cmd)...)
			if code != ExitUsage || !strings.Contains(stderr, "debforge never makes a new key at a path you named") ||
				!strings.Contains(stderr, "debforge: hint: restore the key from its backup") {
				t.Errorf("exit %d, want %d and a refusal with a hint:\n%s", code, ExitUsage, stderr)
			}
			filepath.Walk(tmp, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".asc") || strings.HasSuffix(p, ".gpg")) {
					t.Errorf("a key file was created: %s", p)
				}
				return nil
			})
			for _, p := range []string{filepath.Join(tmp, "out", "repo", "dists"), filepath.Join(tmp, "out", "repo", "pool")} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
	// The control: named by neither, the default path gets its first key.
	tmp := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(tmp, "data"))
	t.Setenv("DEBFORGE_SIGNING_KEY", "")
	code, stderr := execute("--specs", specs, "--out", filepath.Join(tmp, "out"), "--cache-dir", filepath.Join(tmp, "cache"), "publish")
	if _, err := os.Stat(filepath.Join(tmp, "data", "debforge", "signing-key.asc")); code != ExitOK || err != nil {
		t.Errorf("publish at the default key path: exit %d, %v\n%s", code, err, stderr)
	}
}

// Issue 9 item 11, through the command: 'debforge serve' builds its
// server from the limits and their flags (the unit tests call NewServer
// directly). --idle-timeout closes a keep-alive connection, --max-conns
// makes a further client wait, and a path element over 255 bytes gets 404.
func TestServeCommandAppliesLimits(t *testing.T) {
	specs := specsDir(t, map[string]string{"aa": ""})
	tmp := t.TempDir()
	base := []string{"--specs", specs, "--out", filepath.Join(tmp, "out"), "--cache-dir", filepath.Join(tmp, "cache"),
		"--signing-key", filepath.Join(tmp, "key.asc")}
	var o, e bytes.Buffer
	for _, cmd := range []string{"keygen", "publish"} {
		if code := Execute(context.Background(), append(base, cmd), &o, &e); code != 0 {
			t.Fatalf("%s: exit %d\n%s", cmd, code, e.String())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	exited := make(chan int, 1)
	go func() {
		exited <- Execute(ctx, append(base, "serve", "--addr", "127.0.0.1:0", "--idle-timeout", "300ms", "--max-conns", "2"), pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop after its context ended")
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v", err)
	}
	go io.Copy(io.Discard, pr)
	u, err := url.Parse(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(p string) int {
		resp, err := client.Get(u.String() + p)
		if err != nil {
			t.Fatalf("GET %.40s: %v", p, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		client.CloseIdleConnections()
		return resp.StatusCode
	}
	if c := get("dists/debforge/InRelease"); c != 200 {
		t.Fatalf("GET InRelease: %d", c)
	}
	if c := get(strings.Repeat("a", 256)); c != 404 {
		t.Errorf("a 256-byte path element: %d, want 404", c)
	}

	// --idle-timeout 300ms: a keep-alive connection is closed after one
	// request (the default would keep it for 60 s).
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /dists/debforge/InRelease HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	conn.SetReadDeadline(start.Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle keep-alive connection: %v after %v, want closed (EOF) after about 300ms", err, time.Since(start).Round(time.Millisecond))
	}
	conn.Close()

	// --max-conns 2: with two connections open, a third client waits.
	// Each held connection is served once (so the server has accepted
	// it), then starts a second request it never finishes: the server
	// reads its headers, not idle, for 10 s.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		fmt.Fprintf(c, "GET /dists/debforge/InRelease HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Fprintf(c, "GET /dists/debforge/InRelease HTTP/1.1\r\n")
	}
	waiting := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := waiting.Get(u.String() + "dists/debforge/InRelease"); err == nil {
		resp.Body.Close()
		t.Errorf("a third client was served with --max-conns 2 and two connections open")
	}
	for _, c := range held {
		c.Close()
	}
	if c := get("dists/debforge/InRelease"); c != 200 {
		t.Errorf("after the held connections closed: %d", c)
	}
}

// Issue 9 item 9, "keep signals working": a signal (the context ending)
// ends validate with exit 130 while loading still runs. Loading is
// bounded now, so the test holds it with a loader that never returns.
func TestSignalEndsValidateWhileLoading(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	loadSpecs = func(string, ...spec.Option) (*spec.Set, error) {
		close(started)
		<-release
		return nil, errors.New("released")
	}
	defer func() { loadSpecs = forge.LoadSpecs }()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	exited := make(chan int, 1)
	go func() { exited <- Execute(ctx, []string{"--specs", t.TempDir(), "validate"}, io.Discard, &stderr) }()
	<-started
	cancel()
	select {
	case code := <-exited:
		if code != ExitSignals || !strings.Contains(stderr.String(), "debforge: error: validate: context canceled") {
			t.Errorf("exit %d, want %d\n%s", code, ExitSignals, stderr.String())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("validate still running 3 s after the signal")
	}
}

// A --source directory that does not exist says why, once: the component
// is named by the summary line, the cause (no such file) by the error.
func TestFetchSourceDirSaysWhy(t *testing.T) {
	specs := specsDir(t, map[string]string{"aa": "license_file: COPYING\ncopyright: x\nsource: {dir: .}\nbuild: {kind: make}\n"})
	code, _, stderr := run(t, specs, "fetch", "--source", "aa=/nonexistent/debforge-test")
	if code != ExitFailed || !strings.Contains(stderr, "no such file or directory") || strings.Contains(stderr, "aa: aa:") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// fetch's progress says a finished component was fetched, not built.
func TestFetchProgressSaysFetched(t *testing.T) {
	code, _, stderr := run(t, specsDir(t, map[string]string{"aa": ""}), "fetch", "all")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "aa") || !strings.Contains(stderr, "done (fetched") || strings.Contains(stderr, "built") {
		t.Errorf("fetch progress:\n%s\nwant 'done (fetched' and no 'built'", stderr)
	}
}
