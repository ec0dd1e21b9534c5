//go:build integration

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

func apacheText(t *testing.T) string {
	t.Helper()
	return string(mustRead(t, "/usr/share/common-licenses/Apache-2.0"))
}

// makeTarball is a release archive of a make project whose install target
// honours DESTDIR, with an Apache LICENSE reflowed as upstreams do.
func makeTarball(t *testing.T, version string) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"LICENSE":  strings.Join(strings.Fields(apacheText(t)), " ") + "\n",
		"Makefile": "all:\n\tprintf '#!/bin/sh\\necho hellotar " + version + "\\n' > hellotar\ninstall: all\n\tinstall -D -m 0755 hellotar $(DESTDIR)/usr/bin/hellotar\n",
	}
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: "hellotar-" + version + "/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return b.Bytes()
}

// new on an MIT-licensed Go module (from the test's module proxy), on a tarball (from
// the test's https server) and on a local Debian orig tarball writes
// specs that validate and build as written; new refuses an existing name and a non-https URL, and a
// license that matches no common text is left as a TODO validate rejects.
func TestNewWritesSpecsThatBuild(t *testing.T) {
	testutil.RequireTool(t, "go", "make", "dpkg-deb", "lintian", "hardening-check")
	var down atomic.Bool
	mod := "example.com/newmod"
	main := func(n string) string {
		return "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"" + n + "\") }\n"
	}
	proxy, sums := moduleProxyOf(t, mod, map[string]string{
		"LICENSE": testutil.MITLicense, "cmd/newmod-a/main.go": main("a"), "cmd/newmod-b/main.go": main("b"),
		"cmd/notmain/lib.go": "package notmain\n", "lib.go": "package newmod\n",
	}, []string{"v0.3.0"}, &down)
	tarball := makeTarball(t, "2.4.1")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/releases/hellotar-2.4.1.tar.gz" {
			w.Write(tarball)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	testutil.Must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))

	specs := t.TempDir()
	writeSpecs(t, specs, map[string]string{"debforge.yaml": "maintainer: \"new test <new@example.org>\"\n"})
	e := newEnv(t, specs)
	// The Go toolchain the build fetches is not on the test's proxy: go
	// falls through to the machine's own proxy on a 404, so the test
	// needs no toolchain another test fetched first.
	upstream, err := exec.Command("go", "env", "GOPROXY").Output()
	testutil.Must(t, err)
	extra := []string{"GOPROXY=" + proxy + "," + strings.TrimSpace(string(upstream)), "GOSUMDB=off", "SSL_CERT_FILE=" + ca}

	// Another spec, half edited, does not stop new nor enter its verdict.
	broken := filepath.Join(specs, "broken.yaml")
	testutil.Must(t, os.WriteFile(broken, []byte("name: broken\nversion: x\n"), 0o644))
	r := e.runWith(t, extra, "new", "newmod", "--go-module", mod+"@v0.3.0")
	if r.code != 0 || strings.TrimSpace(r.stdout) != filepath.Join(specs, "newmod.yaml") || strings.Contains(r.stderr, "broken") {
		t.Fatalf("new --go-module beside an invalid spec: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	testutil.Must(t, os.Remove(broken))
	got := string(mustRead(t, filepath.Join(specs, "newmod.yaml")))
	for _, want := range []string{"version: \"0.3.0\"", "license: MIT", "license_file: \"LICENSE\"", "sum: \"" + sums["v0.3.0"] + "\"", "kind: go",
		`{main: "./cmd/newmod-a", dst: "/usr/bin/newmod-a"}`, `{main: "./cmd/newmod-b", dst: "/usr/bin/newmod-b"}`} {
		if !strings.Contains(got, want) {
			t.Errorf("newmod.yaml lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "notmain") {
		t.Errorf("a non-main package became a binary:\n%s", got)
	}
	url := srv.URL + "/releases/hellotar-2.4.1.tar.gz"
	r = e.runWith(t, extra, "new", "hellotar", "--tarball", url)
	if r.code != 0 {
		t.Fatalf("new --tarball: exit %d\n%s", r.code, r.stderr)
	}
	got = string(mustRead(t, filepath.Join(specs, "hellotar.yaml")))
	for _, want := range []string{"version: \"2.4.1\"", "license: Apache-2.0", "kind: make", "tarball: \"" + url + "\""} {
		if !strings.Contains(got, want) {
			t.Errorf("hellotar.yaml lacks %q:\n%s", want, got)
		}
	}

	// A Debian orig tarball on this host: the version from its name, the
	// spec naming it relative to the specs directory.
	orig := filepath.Join(specs, "orig", "hellolocal_3.1.0.orig.tar.gz")
	testutil.Must(t, os.MkdirAll(filepath.Dir(orig), 0o755))
	if err := os.WriteFile(orig, makeTarball(t, "3.1.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = e.runWith(t, extra, "new", "hellolocal", "--tarball", orig)
	if r.code != 0 {
		t.Fatalf("new --tarball FILE: exit %d\n%s", r.code, r.stderr)
	}
	got = string(mustRead(t, filepath.Join(specs, "hellolocal.yaml")))
	for _, want := range []string{"version: \"3.1.0\"", "kind: make", "tarball: \"orig/hellolocal_3.1.0.orig.tar.gz\""} {
		if !strings.Contains(got, want) {
			t.Errorf("hellolocal.yaml lacks %q:\n%s", want, got)
		}
	}

	before := treeHash(t, specs)
	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"new", "newmod", "--go-module", mod + "@v0.3.0"}, 2, "already exists"},
		{[]string{"new", "plain", "--tarball", strings.Replace(url, "https://", "http://", 1)}, 2, "only https URLs"},
		{[]string{"new", "nogit", "--git", "http://example.org/x.git", "--tag", "v1"}, 2, "only https URLs"},
		{[]string{"new", "gone", "--go-module", mod + "@v9.0.0"}, 1, "cannot download"},
	} {
		r := e.runWith(t, extra, bad.args...)
		if r.code != bad.code || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", bad.args, r.code, bad.code, bad.want, r.stderr)
		}
	}
	if treeHash(t, specs) != before {
		t.Fatal("a refused new changed the specs")
	}

	r = e.runWith(t, extra, "build", "all")
	if r.code != 0 {
		t.Fatalf("the written specs do not build as written: exit %d\n%s", r.code, r.stderr)
	}
	debs := debsOf(t, r)
	for name, bins := range map[string][]string{"newmod": {"./usr/bin/newmod-a", "./usr/bin/newmod-b"}, "hellotar": {"./usr/bin/hellotar"}, "hellolocal": {"./usr/bin/hellotar"}} {
		if debs[name] == "" {
			t.Errorf("no .deb for %s:\n%s", name, r.stdout)
			continue
		}
		contents := sh(t, "dpkg-deb", "--contents", debs[name])
		for _, b := range bins {
			if !strings.Contains(contents, b+"\n") {
				t.Errorf("%s lacks %s:\n%s", name, b, contents)
			}
		}
	}

	// What new writes for a Go module is Debian-grade as written: lintian
	// finds nothing (a PIE is not statically-linked-binary), and
	// hardening-check finds PIE, relro and bindnow (a Go binary has no
	// stack protector, fortify or stack clash probes of gcc's to find).
	if debs["newmod"] != "" {
		if bad := lintianErrors(t, debs["newmod"]); len(bad) > 0 {
			t.Errorf("new --go-module's package is not lintian-clean:\n%s", strings.Join(bad, "\n"))
		}
		x := t.TempDir()
		sh(t, "dpkg-deb", "-x", debs["newmod"], x)
		out, err := exec.Command("hardening-check", "--nostackprotector", "--nofortify", "--nocfprotection",
			filepath.Join(x, "usr/bin/newmod-a")).CombinedOutput()
		if err != nil {
			t.Errorf("a Go binary lacks PIE, relro or bindnow: %v\n%s", err, out)
		}
	}

	// A license that matches no common text: a TODO that validate rejects.
	proxy2, _ := moduleProxyOf(t, "example.com/oddlic", map[string]string{"LICENSE": "Do what you like, but do not blame us.\n", "main.go": main("odd")}, []string{"v1.0.0"}, &down)
	r = e.runWith(t, []string{"GOPROXY=" + proxy2, "GOSUMDB=off"}, "new", "oddlic", "--go-module", "example.com/oddlic@v1.0.0")
	if r.code != 1 || !strings.Contains(r.stderr, "does not validate") || !strings.Contains(r.stderr, "license") {
		t.Errorf("new with an unknown license: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(specs, "oddlic.yaml"))), "license: TODO") {
		t.Error("oddlic.yaml lacks the license TODO")
	}
	if r := e.run(t, "validate"); r.code != 2 {
		t.Errorf("validate accepted the license TODO: exit %d", r.code)
	}
}
