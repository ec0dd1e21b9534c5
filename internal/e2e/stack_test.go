//go:build stack

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/testutil"
)

// The real stack, built once from specs/ (make acceptance) for every
// target of specs/debforge.yaml. The default cache is shared with `make
// build`, so a warm machine rebuilds nothing.
var (
	stackOnce sync.Once
	stackEnv  env
	stackRes  result
)

func stack(t *testing.T) (env, result) {
	t.Helper()
	stackOnce.Do(func() {
		dir, err := os.MkdirTemp(runDir, "stack-")
		if err != nil {
			t.Fatal(err)
		}
		stackEnv = env{specs: "../../specs", out: filepath.Join(dir, "out"), key: filepath.Join(dir, "key.asc")}
		stackEnv.keygen(t)
		args := []string{"--specs", stackEnv.specs, "--out", stackEnv.out, "--signing-key", stackEnv.key}
		if c := os.Getenv("DEBFORGE_CACHE_DIR"); c != "" {
			args = append(args, "--cache-dir", c)
		}
		args = append(args, "build", "all", "--except", "slirp4netns")
		// No binfmt_misc: the arm64 builds emulate nothing (their
		// help2man steps run native builds of the same binaries).
		start := time.Now()
		stackRes = debforge(t, args...)
		// The summary table, for the figures in the README.
		if i := strings.Index(stackRes.stderr, "\nCOMPONENT"); i >= 0 {
			t.Logf("stack build: %v\n%s", time.Since(start).Round(time.Second), stackRes.stderr[i+1:])
		}
	})
	if stackRes.code != 0 {
		t.Fatalf("stack build failed (exit %d):\n%s", stackRes.code, testutil.LastLines(stackRes.stderr, 60))
	}
	return stackEnv, stackRes
}

// stackDebs are the pool paths the stack build printed for one target:
// that architecture's packages of the release and its arch-all ones.
func stackDebs(t *testing.T, r result, release, arch string) []string {
	t.Helper()
	suffix := debian.Releases[release].Suffix
	var debs []string
	for _, p := range strings.Fields(r.stdout) {
		base := filepath.Base(p)
		if strings.HasSuffix(base, suffix+"_"+arch+".deb") || strings.HasSuffix(base, suffix+"_all.deb") {
			debs = append(debs, p)
		}
	}
	if len(debs) < 9 {
		t.Fatalf("the stack build printed %d packages for %s/%s, want every stack package:\n%s", len(debs), release, arch, r.stdout)
	}
	return debs
}

// stackSources is the published .sources file of a release.
func stackSources(release string) string { return "debforge-archive-keyring-" + release + ".sources" }

// stackVersions reads each component's upstream version from specs/, the
// one place versions are written, quoted for use in a regexp.
func stackVersions(t *testing.T) map[string]string {
	t.Helper()
	set, err := forge.LoadSpecs("../../specs")
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]string{}
	for _, c := range set.Components {
		v[c.Name] = c.Version
	}
	return v
}

// versionCase is one binary of the stack (path without the leading /),
// how to ask its version, and what it must answer.
type versionCase struct {
	bin  string
	args []string
	want string
}

// stackVersionCases lists every binary of the stack with the version its
// spec says.
func stackVersionCases(t *testing.T) []versionCase {
	v := stackVersions(t)
	q := func(name string) string { return regexp.QuoteMeta(v[name]) }
	cases := []versionCase{
		{"usr/bin/containerd", []string{"--version"}, `containerd github.com/containerd/containerd v` + q("containerd")},
		{"usr/bin/ctr", []string{"--version"}, `ctr github.com/containerd/containerd v` + q("containerd")},
		{"usr/bin/containerd-shim-runc-v2", []string{"-v"}, `Version:\s+v` + q("containerd")},
		{"usr/bin/runc", []string{"--version"}, `runc version ` + q("runc")},
		{"usr/bin/nerdctl", []string{"--version"}, `nerdctl version ` + q("nerdctl")},
		{"usr/bin/buildkitd", []string{"--version"}, `buildkitd github.com/moby/buildkit v` + q("buildkit")},
		{"usr/bin/buildctl", []string{"--version"}, `buildctl github.com/moby/buildkit v` + q("buildkit")},
		{"usr/bin/rootlesskit", []string{"--version"}, `rootlesskit version ` + q("rootlesskit")},
		{"usr/bin/rootlessctl", []string{"--version"}, `rootlessctl version ` + q("rootlesskit")},
	}
	plugins := []string{"bandwidth", "bridge", "dhcp", "dummy", "firewall", "host-device", "host-local", "ipvlan", "loopback", "macvlan", "portmap", "ptp", "sbr", "static", "tap", "tuning", "vlan", "vrf"}
	for _, p := range plugins {
		cases = append(cases, versionCase{"opt/cni/bin/" + p, nil, `CNI \S+ plugin v` + q("cni-plugins")})
	}
	return cases
}

// Every built binary reports the version of its spec.
func TestStackVersions(t *testing.T) {
	_, r := stack(t)
	v := stackVersions(t)
	root := tempDir(t)
	debs := stackDebs(t, r, "bookworm", "amd64")
	for _, deb := range debs {
		sh(t, "dpkg-deb", "-x", deb, root)
	}
	cases := stackVersionCases(t)
	// Provides name the spec's version through {{.Version}}.
	for _, deb := range debs {
		if p := sh(t, "dpkg-deb", "--field", deb, "Provides"); strings.Contains(p, "{{") {
			t.Errorf("%s: Provides not expanded: %s", filepath.Base(deb), p)
		}
		if strings.Contains(filepath.Base(deb), "upstream-runc_") && !strings.Contains(sh(t, "dpkg-deb", "--field", deb, "Provides"), "runc (= "+v["runc"]+")") {
			t.Errorf("upstream-runc does not provide runc (= %s)", v["runc"])
		}
	}
	for _, c := range cases {
		out, _ := exec.Command(filepath.Join(root, c.bin), c.args...).CombinedOutput()
		if !regexp.MustCompile(c.want).Match(out) {
			t.Errorf("%s %v printed %q, want /%s/", c.bin, c.args, out, c.want)
		}
	}
	for _, s := range []string{"usr/bin/containerd-rootless.sh", "usr/bin/containerd-rootless-setuptool.sh"} {
		if st, err := os.Stat(filepath.Join(root, s)); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v", s, st, err)
		}
	}
}

// Every package of the stack is lintian-clean beyond its documented
// overrides, the keyring package and the cross-compiled arm64 ones too.
// The trixie packages come from trixie roots; bookworm's lintian is not the
// judge of those, TestStackPiuparts and TestStackOnTrixie install them.
func TestStackLintian(t *testing.T) {
	e, r := stack(t)
	debs := stackDebs(t, r, "bookworm", "amd64")
	for _, deb := range stackDebs(t, r, "bookworm", "arm64") {
		if strings.HasSuffix(deb, "_arm64.deb") {
			debs = append(debs, deb)
		}
	}
	keyrings, _ := filepath.Glob(filepath.Join(e.out, "repo", "pool", "main", "d", "debforge-archive-keyring", "*.deb"))
	if len(keyrings) == 0 {
		t.Fatal("no debforge-archive-keyring package in the pool")
	}
	debs = append(debs, keyrings...)
	for _, deb := range debs {
		for _, line := range lintianErrors(t, deb) {
			t.Errorf("%s", line)
		}
	}
}

// withMirror lets a root install Debian's packages of its release too
// (uidmap, iptables …).
func withMirror(t *testing.T, root, release string) {
	m := testutil.DebianMirror()
	if m == "" {
		t.Fatal("no Debian mirror configured on this host")
	}
	testutil.Must(t, os.WriteFile(filepath.Join(root, "etc/apt/sources.list"), []byte("deb "+m+" "+release+" main\n"), 0o644))
}

// The README's host instructions install the stack in a bookworm root.
func TestStackInstallsFromSignedRepo(t *testing.T) {
	e, _ := stack(t)
	root := rootfs(t, "bookworm")
	withMirror(t, root, "bookworm")
	copySources(t, root, filepath.Join(e.out, "repo"), stackSources("bookworm"))
	out, err := aptUpdate(root)
	if err != nil || strings.Contains(out, "W:") || strings.Contains(out, "E:") {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "apt-get", "install", "-y", "rootless-containerd-stack"); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "nerdctl", "--version"); err != nil || !strings.Contains(out, stackVersions(t)["nerdctl"]) {
		t.Errorf("nerdctl in root: %v %s", err, out)
	}
	if out, _ := inRoot(root, "dpkg-query", "-W", "-f=${Status}", "upstream-slirp4netns"); strings.Contains(out, "ok installed") {
		t.Errorf("slirp4netns is only recommended and was not built, yet: %s", out)
	}
}

// On a host with Debian's containerd, runc and rootlesskit, installing the
// stack replaces them through Conflicts/Replaces: apt removes them, no dpkg
// file clash, and the binaries on PATH are ours.
func TestStackReplacesDebianPackages(t *testing.T) {
	e, _ := stack(t)
	root := rootfs(t, "bookworm")
	withMirror(t, root, "bookworm")
	if out, err := aptUpdate(root); err != nil {
		t.Fatalf("update: %v\n%s", err, out)
	}
	if out, err := inRoot(root, "apt-get", "install", "-y", "--no-install-recommends", "containerd", "runc", "rootlesskit"); err != nil {
		t.Fatalf("install Debian's packages: %v\n%s", err, out)
	}
	copySources(t, root, filepath.Join(e.out, "repo"), stackSources("bookworm"))
	if out, err := aptUpdate(root); err != nil {
		t.Fatalf("update: %v\n%s", err, out)
	}
	out, err := inRoot(root, "apt-get", "install", "-y", "rootless-containerd-stack")
	if err != nil {
		t.Fatalf("install over Debian's packages: %v\n%s", err, out)
	}
	if strings.Contains(out, "trying to overwrite") {
		t.Errorf("dpkg file clash:\n%s", out)
	}
	removed := regexp.MustCompile(`(?s)The following packages will be REMOVED:\s*\n(.*?)\n\S`).FindStringSubmatch(out)
	if removed == nil {
		t.Fatalf("apt did not remove Debian's packages:\n%s", out)
	}
	for _, p := range []string{"containerd", "runc", "rootlesskit"} {
		if !regexp.MustCompile(`\b` + p + `\b`).MatchString(removed[1]) {
			t.Errorf("%s not in the REMOVED list: %q", p, removed[1])
		}
	}
	v := stackVersions(t)
	for bin, want := range map[string]string{"containerd": "v" + v["containerd"], "runc": v["runc"], "rootlesskit": v["rootlesskit"]} {
		if v, _ := inRoot(root, bin, "--version"); !strings.Contains(v, want) {
			t.Errorf("%s --version = %q, want %s", bin, v, want)
		}
	}
}

// Every .deb of the stack has its SPDX 2.3 document, valid against the
// official schema; runc's names the libseccomp it links statically;
// containerd's lists the Go modules in its binaries with their hashes.
func TestStackSBOMs(t *testing.T) {
	_, r := stack(t)
	schema := spdx23(t)
	for _, deb := range stackDebs(t, r, "bookworm", "amd64") {
		doc, ok := readSBOM(t, schema, deb)
		if !ok {
			continue
		}
		switch strings.SplitN(filepath.Base(deb), "_", 2)[0] {
		case "upstream-runc":
			if libs := strings.Join(doc.related("STATIC_LINK"), " "); !strings.Contains(libs, "libseccomp") {
				t.Errorf("runc's SBOM names no libseccomp among its static links: %q", libs)
			}
		case "upstream-containerd":
			mods := doc.related("CONTAINS")
			if len(mods) < 20 || !strings.Contains(strings.Join(mods, " "), "google.golang.org/grpc") {
				t.Errorf("containerd's SBOM lists %d Go modules: %v", len(mods), mods)
			}
			for _, p := range doc.Packages {
				if strings.HasPrefix(p.SPDXID, "SPDXRef-GoModule-") && (!strings.HasPrefix(p.SourceInfo, "go.sum h1:") || len(p.Checksums) != 1) {
					t.Errorf("module %s %s has no h1 hash: %+v", p.Name, p.VersionInfo, p)
				}
			}
		}
	}
}
