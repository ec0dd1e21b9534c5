//go:build integration

package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/testutil"
)

const fixtureModule = "example.com/hellomod"

// moduleProxy serves fixtureModule at the given versions with the Go
// module proxy protocol (@v/list, .info, .mod, .zip, @latest) on
// 127.0.0.1 and returns its URL and each version's h1 hash. down makes
// every request fail, as an unreachable proxy would.
func moduleProxy(t *testing.T, versions []string, down *atomic.Bool) (string, map[string]string) {
	return moduleProxyOf(t, fixtureModule, map[string]string{
		"main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"dev\"\n\nfunc main() { fmt.Println(\"hellomod\", version) }\n",
	}, versions, down)
}

// moduleProxyOf serves module mod made of files (plus its go.mod).
func moduleProxyOf(t *testing.T, mod string, files map[string]string, versions []string, down *atomic.Bool) (string, map[string]string) {
	t.Helper()
	zips, sums := map[string][]byte{}, map[string]string{}
	gomod := "module " + mod + "\n\ngo 1.22\n"
	for _, v := range versions {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		all := map[string]string{"go.mod": gomod}
		for name, body := range files {
			all[name] = body
		}
		for name, body := range all {
			w, err := zw.Create(mod + "@" + v + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(body))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		zips[v] = b.Bytes()
		p := filepath.Join(t.TempDir(), v+".zip")
		testutil.Must(t, os.WriteFile(p, b.Bytes(), 0o644))
		h, err := source.HashZip(p)
		if err != nil {
			t.Fatal(err)
		}
		sums[v] = h
	}
	prefix := "/" + mod + "/@v/"
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		info := func(v string) string {
			return fmt.Sprintf(`{"Version":%q,"Time":"2026-01-0%dT00:00:00Z"}`, v, len(v)%9+1)
		}
		switch p := r.URL.Path; {
		case p == prefix+"list":
			fmt.Fprint(w, strings.Join(versions, "\n")+"\n")
		case p == "/"+mod+"/@latest":
			fmt.Fprint(w, info(versions[len(versions)-1]))
		case strings.HasPrefix(p, prefix):
			file := strings.TrimPrefix(p, prefix)
			v := file[:strings.LastIndex(file, ".")]
			if zips[v] == nil {
				http.NotFound(w, r)
				return
			}
			switch filepath.Ext(file) {
			case ".info":
				fmt.Fprint(w, info(v))
			case ".mod":
				fmt.Fprint(w, gomod)
			case ".zip":
				w.Write(zips[v])
			default:
				http.NotFound(w, r)
			}
		default:
			http.NotFound(w, r)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), sums
}

// gitUpstream makes a repository with tags v1.0.0 and v1.1.0 (and a
// pre-release v1.2.0-rc.1) and returns its file:// URL and tag commits.
func gitUpstream(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	commits := map[string]string{}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0-rc.1"} {
		testutil.Must(t, os.WriteFile(filepath.Join(dir, "hello.sh"), []byte("#!/bin/sh\necho hellogit "+v+"\n"), 0o755))
		git("add", "hello.sh")
		git("commit", "-q", "-m", "release "+v)
		git("tag", "-a", "-m", "v"+v, "v"+v) // annotated: ls-remote peels it
		commits["v"+v] = git("rev-parse", "HEAD")
	}
	return "file://" + dir, commits
}

func writeSpecs(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func modSpec(sum string) string {
	return `name: hellomod
version: 1.0.0
summary: fixture module from the test's module proxy
description: |
  Prints its version.
license: Apache-2.0
copyright: 2026 test
source:
  # pinned by hand
  go_module: ` + fixtureModule + `@v1.0.0
  sum: "` + sum + `"
build:
  kind: go
  ldflags: ["-X main.version={{.Version}}"]
  binaries:
    - {main: ., dst: /usr/bin/hellomod}
package:
  provides: ["hellomod-api (= {{.Version}})"]
`
}

func gitSpec(url, commit string) string {
	return `name: hellogit
version: 1.0.0
revision: "3"
summary: fixture from a local git repository
description: |
  A shell script.
license: Apache-2.0
copyright: 2026 test
source:
  git: ` + url + `
  tag: v1.0.0
  commit: ` + commit + ` # the tag's commit
build:
  kind: script
  steps: ['install -D -m 0755 hello.sh "$DESTDIR/usr/bin/hellogit"']
package:
  architecture: all
`
}

// runWith runs debforge in e with extra environment variables.
func (e env) runWith(t *testing.T, extra []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(debforgeBin, append([]string{"--specs", e.specs, "--out", e.out, "--cache-dir", e.cache, "--signing-key", e.key}, args...)...)
	cmd.Env = append(os.Environ(), extra...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{so.String(), se.String(), code}
}

type outdatedRow struct{ Component, Current, Newest, Status, Error string }

func outdatedJSON(t *testing.T, r result) map[string]outdatedRow {
	t.Helper()
	var rows []outdatedRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("outdated --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	m := map[string]outdatedRow{}
	for _, row := range rows {
		m[row.Component] = row
	}
	return m
}

// A Go module behind a local module proxy and a git repository with two
// release tags: outdated reports both (exit 10, table and JSON); bad
// bumps (a version that does not exist, a wrong expected hash, an
// unreachable proxy) fail with one error and change no spec; bump moves
// each to the newest release keeping comments and printing the diff;
// outdated then reports current (exit 0) and the bumped specs build.
func TestOutdatedAndBump(t *testing.T) {
	testutil.RequireTool(t, "git", "go", "dpkg-deb")
	var down atomic.Bool
	proxy, sums := moduleProxy(t, []string{"v1.0.0", "v1.1.0"}, &down)
	gitURL, commits := gitUpstream(t)
	specs := t.TempDir()
	writeSpecs(t, specs, map[string]string{
		"debforge.yaml": "maintainer: \"life test <life@example.org>\"\ncodename: lifetest\n",
		"hellomod.yaml": modSpec(sums["v1.0.0"]),
		"hellogit.yaml": gitSpec(gitURL, commits["v1.0.0"]),
		"meta.yaml":     "name: life-meta\nversion: \"1\"\nsummary: s\ndescription: d\nlicense: Apache-2.0\n",
	})
	e := newEnv(t, specs)
	goEnv := []string{"GOPROXY=" + proxy, "GOSUMDB=off", "GONOSUMDB=" + fixtureModule}

	r := e.runWith(t, goEnv, "outdated")
	if r.code != 10 || !strings.Contains(r.stdout, "hellomod") || !strings.Contains(r.stdout, "outdated") {
		t.Fatalf("outdated: exit %d, want 10\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rows := outdatedJSON(t, e.runWith(t, goEnv, "outdated", "--json"))
	if rows["hellomod"] != (outdatedRow{"hellomod", "1.0.0", "1.1.0", "outdated", ""}) ||
		rows["hellogit"] != (outdatedRow{"hellogit", "1.0.0", "1.1.0", "outdated", ""}) ||
		rows["life-meta"].Status != "untracked" {
		t.Fatalf("outdated --json: %+v", rows)
	}

	// Bad input: each is one clear error, and no spec changes.
	before := treeHash(t, specs)
	down.Store(true)
	r = e.runWith(t, goEnv, "outdated", "--json")
	if rows := outdatedJSON(t, r); r.code != 1 || rows["hellomod"].Status != "error" || rows["hellogit"].Status != "outdated" ||
		!strings.Contains(r.stderr, "hellomod: upstream "+proxy) {
		t.Errorf("outdated with the proxy down: exit %d, want 1 naming it and still reporting hellogit\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.runWith(t, goEnv, "bump", "hellomod")
	if r.code != 1 || !strings.Contains(r.stderr, "did not answer") || strings.Count(r.stderr, "error:") != 1 {
		t.Errorf("bump with the proxy down: exit %d\n%s", r.code, r.stderr)
	}
	down.Store(false)
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"bump", "hellomod", "9.9.9"}, "upstream has no version 9.9.9"},
		{[]string{"bump", "hellogit", "1.5.0"}, "upstream has no version 1.5.0"},
		{[]string{"bump", "hellomod", "1.1.0", "--sum", sums["v1.0.0"]}, "checksum mismatch"},
		{[]string{"bump", "hellogit", "--commit", commits["v1.0.0"]}, "checksum mismatch"},
	} {
		r := e.runWith(t, goEnv, bad.args...)
		if r.code != 1 || !strings.Contains(r.stderr, bad.want) || !strings.Contains(r.stderr, "hint: the spec was not changed") || r.stdout != "" {
			t.Errorf("%v: exit %d, want 1 with %q\nstdout: %s\nstderr: %s", bad.args, r.code, bad.want, r.stdout, r.stderr)
		}
	}
	if treeHash(t, specs) != before {
		t.Fatal("a failed bump changed a spec")
	}

	r = e.runWith(t, goEnv, "bump", "hellomod")
	if r.code != 0 || !strings.Contains(r.stdout, "+version: 1.1.0") || !strings.Contains(r.stdout, "+  sum: \""+sums["v1.1.0"]+"\"") {
		t.Fatalf("bump hellomod: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.runWith(t, goEnv, "bump", "hellogit", "1.1.0")
	if r.code != 0 || !strings.Contains(r.stdout, "+  commit: "+commits["v1.1.0"]+" # the tag's commit") {
		t.Fatalf("bump hellogit: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	wantMod := strings.NewReplacer("@v1.0.0", "@v1.1.0", "version: 1.0.0", "version: 1.1.0", sums["v1.0.0"], sums["v1.1.0"]).Replace(modSpec(sums["v1.0.0"]))
	if got := withoutBumpDate(t, string(mustRead(t, filepath.Join(specs, "hellomod.yaml")))); got != wantMod {
		t.Errorf("hellomod.yaml after bump:\n%s\nwant (only the three values changed, and the revision's date added):\n%s", got, wantMod)
	}
	wantGit := strings.NewReplacer("tag: v1.0.0", "tag: v1.1.0", "version: 1.0.0", "version: 1.1.0", commits["v1.0.0"], commits["v1.1.0"], `revision: "3"`, `revision: "1"`).Replace(gitSpec(gitURL, commits["v1.0.0"]))
	if got := withoutBumpDate(t, string(mustRead(t, filepath.Join(specs, "hellogit.yaml")))); got != wantGit {
		t.Errorf("hellogit.yaml after bump:\n%s\nwant:\n%s", got, wantGit)
	}

	if r := e.runWith(t, goEnv, "outdated"); r.code != 0 || strings.Contains(r.stdout, "outdated") {
		t.Errorf("outdated after bump: exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := e.runWith(t, goEnv, "bump", "hellomod"); r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "already at") {
		t.Errorf("bump at the newest: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.runWith(t, goEnv, "build", "all")
	if r.code != 0 {
		t.Fatalf("the bumped specs do not build: exit %d\n%s", r.code, r.stderr)
	}
	for _, deb := range strings.Fields(r.stdout) {
		base := filepath.Base(deb)
		if strings.HasPrefix(base, "hellomod_") {
			if base != "hellomod_1.1.0-1_amd64.deb" {
				t.Errorf("hellomod built as %s", base)
			}
			if p := sh(t, "dpkg-deb", "--field", deb, "Provides"); strings.TrimSpace(p) != "hellomod-api (= 1.1.0)" {
				t.Errorf("Provides = %q", p)
			}
			x := t.TempDir()
			sh(t, "dpkg-deb", "-x", deb, x)
			if out := sh(t, filepath.Join(x, "usr/bin/hellomod")); strings.TrimSpace(out) != "hellomod 1.1.0" {
				t.Errorf("bumped binary prints %q", out)
			}
		}
		if strings.HasPrefix(base, "hellogit_") {
			x := t.TempDir()
			sh(t, "dpkg-deb", "-x", deb, x)
			if out := sh(t, "sh", filepath.Join(x, "usr/bin/hellogit")); strings.TrimSpace(out) != "hellogit 1.1.0" {
				t.Errorf("bumped hellogit prints %q", out)
			}
		}
	}
}

// A patch that applies to the pinned release but not to the new one
// stops bump, naming the patch; the spec is unchanged.
func TestBumpReportsPatchThatNoLongerApplies(t *testing.T) {
	gitURL, commits := gitUpstream(t)
	specs := t.TempDir()
	patch := "--- a/hello.sh\n+++ b/hello.sh\n@@ -1,2 +1,2 @@\n #!/bin/sh\n-echo hellogit 1.0.0\n+echo patched hellogit 1.0.0\n"
	spec := strings.Replace(gitSpec(gitURL, commits["v1.0.0"]), "  tag: v1.0.0\n", "  tag: v1.0.0\n  patches: [fix.patch]\n", 1)
	writeSpecs(t, specs, map[string]string{
		"debforge.yaml": "maintainer: \"life test <life@example.org>\"\n",
		"hellogit.yaml": spec,
		"fix.patch":     patch,
	})
	testutil.RequireTool(t, "git")
	e := newEnv(t, specs)
	if r := e.run(t, "build", "hellogit"); r.code != 0 {
		t.Fatalf("the patch must apply to the pinned release first: %s", r.stderr)
	}
	before := treeHash(t, specs)
	r := e.run(t, "bump", "hellogit")
	if r.code != 1 || !strings.Contains(r.stderr, "patches no longer apply") || !strings.Contains(r.stderr, "fix.patch") {
		t.Errorf("bump over a stale patch: exit %d\n%s", r.code, r.stderr)
	}
	if treeHash(t, specs) != before {
		t.Error("the failed bump changed the spec")
	}
}

// A tarball with a watch: page (like uscan): outdated finds the newer
// archive on the page, bump derives its URL, downloads it, pins its
// sha256 and the bumped spec builds; a wrong --sha256 changes nothing.
func TestOutdatedAndBumpTarballWatch(t *testing.T) {
	testutil.RequireTool(t, "make", "dpkg-deb")
	archives := map[string][]byte{"2.4.1": makeTarball(t, "2.4.1"), "2.5.0": makeTarball(t, "2.5.0")}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/releases/" {
			fmt.Fprint(w, `<a href="hellotar-2.4.1.tar.gz">2.4.1</a> <a href="hellotar-2.5.0.tar.gz">2.5.0</a> <a href="hellotar-2.6.0-rc1.tar.gz">rc</a>`)
			return
		}
		for v, data := range archives {
			if r.URL.Path == "/releases/hellotar-"+v+".tar.gz" {
				w.Write(data)
				return
			}
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	testutil.Must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	sum := sha256.Sum256(archives["2.4.1"])
	spec := `name: hellotar
version: 2.4.1
summary: fixture tarball with a watch page
description: |
  A shell script.
license: Apache-2.0
source:
  tarball: ` + srv.URL + `/releases/hellotar-2.4.1.tar.gz
  sha256: ` + hex.EncodeToString(sum[:]) + `
  watch: {url: "` + srv.URL + `/releases/", regexp: 'hellotar-([0-9][^"]*)\.tar\.gz'}
build:
  kind: make
package:
  architecture: all
`
	specs := t.TempDir()
	writeSpecs(t, specs, map[string]string{"debforge.yaml": "maintainer: \"life test <life@example.org>\"\n", "hellotar.yaml": spec})
	e := newEnv(t, specs)
	extra := []string{"SSL_CERT_FILE=" + ca}
	rows := outdatedJSON(t, e.runWith(t, extra, "outdated", "--json"))
	if rows["hellotar"] != (outdatedRow{"hellotar", "2.4.1", "2.5.0", "outdated", ""}) {
		t.Fatalf("outdated: %+v", rows)
	}
	before := treeHash(t, specs)
	if r := e.runWith(t, extra, "bump", "hellotar", "--sha256", hex.EncodeToString(sum[:])); r.code != 1 || !strings.Contains(r.stderr, "checksum mismatch") {
		t.Errorf("bump with a wrong --sha256: exit %d\n%s", r.code, r.stderr)
	}
	if treeHash(t, specs) != before {
		t.Fatal("a failed bump changed the spec")
	}
	r := e.runWith(t, extra, "bump", "hellotar")
	newSum := sha256.Sum256(archives["2.5.0"])
	if r.code != 0 || !strings.Contains(r.stdout, "hellotar-2.5.0.tar.gz") || !strings.Contains(r.stdout, "+  sha256: "+hex.EncodeToString(newSum[:])) {
		t.Fatalf("bump: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := e.runWith(t, extra, "outdated"); r.code != 0 {
		t.Errorf("outdated after bump: exit %d\n%s", r.code, r.stdout)
	}
	r = e.runWith(t, extra, "build", "all")
	if r.code != 0 {
		t.Fatalf("the bumped spec does not build: %s", r.stderr)
	}
	x := t.TempDir()
	sh(t, "dpkg-deb", "-x", strings.TrimSpace(r.stdout), x)
	if out := sh(t, "sh", filepath.Join(x, "usr/bin/hellotar")); strings.TrimSpace(out) != "hellotar 2.5.0" {
		t.Errorf("bumped package runs %q", out)
	}
}

// withoutBumpDate checks that bump recorded the new revision's date (the
// last line, date: RFC 3339, within the last hour) and returns the spec
// without it.
func withoutBumpDate(t *testing.T, text string) string {
	t.Helper()
	i := strings.LastIndex(strings.TrimSuffix(text, "\n"), "\n")
	last := strings.TrimSpace(text[i+1:])
	v, ok := strings.CutPrefix(last, "date: ")
	d, err := time.Parse(time.RFC3339, v)
	if !ok || err != nil || time.Since(d) > time.Hour || time.Since(d) < -time.Minute {
		t.Errorf("bump did not record the revision's date as the last line: %q (%v)", last, err)
		return text
	}
	return text[:i+1]
}
