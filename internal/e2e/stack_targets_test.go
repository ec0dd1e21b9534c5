//go:build stack

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/forge"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/testutil"
)

// stackPackages are the package names the stack build publishes (every
// spec of specs/ but slirp4netns, whose upstream is unreachable here).
func stackPackages(t *testing.T) []string {
	t.Helper()
	set, err := forge.LoadSpecs("../../specs")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range set.Components {
		if c.Name != "slirp4netns" {
			names = append(names, c.PackageName())
		}
	}
	return names
}

// Issue 13: dists/bookworm and dists/trixie, each signed, each with a
// binary-amd64 and a binary-arm64 index listing every stack package with
// that release's suffix.
func TestStackTargetsPublished(t *testing.T) {
	e, _ := stack(t)
	repo := filepath.Join(e.out, "repo")
	for _, release := range []string{"bookworm", "trixie"} {
		for _, f := range []string{"InRelease", "Release.gpg"} {
			if _, err := os.Stat(filepath.Join(repo, "dists", release, f)); err != nil {
				t.Errorf("dists/%s is not signed: %v", release, err)
			}
		}
		suffix := debian.Releases[release].Suffix
		for _, arch := range []string{"amd64", "arm64"} {
			idx, err := os.ReadFile(filepath.Join(repo, "dists", release, "main", "binary-"+arch, "Packages"))
			if err != nil {
				t.Errorf("dists/%s/main/binary-%s: %v", release, arch, err)
				continue
			}
			listed := map[string]bool{}
			for _, st := range strings.Split(string(idx), "\n\n") {
				f := map[string]string{}
				for _, line := range strings.Split(st, "\n") {
					if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
						f[k] = v
					}
				}
				if strings.HasSuffix(f["Version"], suffix) && (f["Architecture"] == arch || f["Architecture"] == "all") {
					listed[f["Package"]] = true
				}
			}
			for _, p := range stackPackages(t) {
				if !listed[p] {
					t.Errorf("dists/%s/main/binary-%s/Packages lists no %s%s build for %s", release, arch, p, suffix, arch)
				}
			}
		}
	}
}

// installStack installs rootless-containerd-stack in root (a fresh root of
// release) from the release's published .sources, with Debian's mirror of
// the release for its dependencies; apt-get update must say no W: or E:
// and no Ign: or Err: about the repository.
func installStack(t *testing.T, root, release string) {
	t.Helper()
	e, _ := stack(t)
	withMirror(t, root, release)
	copySources(t, root, filepath.Join(e.out, "repo"), stackSources(release))
	out, err := aptUpdate(root)
	if err != nil {
		t.Fatalf("%s: apt-get update: %v\n%s", release, err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		ours := strings.Contains(line, "/srv/repo")
		if strings.HasPrefix(line, "W:") || strings.HasPrefix(line, "E:") || ours && (strings.HasPrefix(line, "Ign:") || strings.HasPrefix(line, "Err:")) {
			t.Errorf("%s: apt-get update said: %s", release, line)
		}
	}
	if out, err := inRoot(root, "apt-get", "install", "-y", "rootless-containerd-stack"); err != nil {
		t.Fatalf("%s: apt-get install rootless-containerd-stack: %v\n%s", release, err, testutil.LastLines(out, 40))
	}
}

// checkStackVersions runs every stack binary inside root and checks the
// version it reports, and that each installed stack package is the build
// of release (its suffix).
func checkStackVersions(t *testing.T, root, release string) {
	t.Helper()
	for _, c := range stackVersionCases(t) {
		out, _ := inRoot(root, append([]string{"/" + c.bin}, c.args...)...)
		if !regexp.MustCompile(c.want).MatchString(out) {
			t.Errorf("%s: /%s %v printed %q, want /%s/", release, c.bin, c.args, out, c.want)
		}
	}
	suffix := debian.Releases[release].Suffix
	for _, p := range []string{"upstream-containerd", "upstream-runc", "upstream-nerdctl", "upstream-buildkit", "upstream-rootlesskit", "upstream-cni-plugins", "rootless-containerd-setup"} {
		if v, _ := inRoot(root, "dpkg-query", "-W", "-f", "${Version}", p); !strings.HasSuffix(v, suffix) {
			t.Errorf("%s: installed %s %q, want the %s build", release, p, v, suffix)
		}
	}
}

// A trixie/amd64 host installs the trixie builds from the trixie .sources
// and every binary reports its upstream version.
func TestStackOnTrixie(t *testing.T) {
	root := rootfs(t, "trixie")
	installStack(t, root, "trixie")
	checkStackVersions(t, root, "trixie")
}

// A bookworm/arm64 host (its programs run under qemu-user through
// binfmt_misc, registered for the test and undone after) installs the
// cross-compiled arm64 builds; every binary is aarch64 code and reports
// its upstream version.
func TestStackOnArm64(t *testing.T) {
	testutil.RequireTool(t, "file")
	testutil.Binfmt(t, "arm64")
	root := rootfsArch(t, "bookworm", "arm64")
	installStack(t, root, "bookworm")
	checkStackVersions(t, root, "bookworm")
	for _, c := range stackVersionCases(t) {
		out := sh(t, "file", "-b", filepath.Join(root, c.bin))
		if !strings.Contains(out, "ARM aarch64") {
			t.Errorf("/%s: file says %q", c.bin, out)
		}
	}
	if out, _ := inRoot(root, "dpkg-query", "-W", "-f", "${Architecture}", "upstream-runc"); out != "arm64" {
		t.Errorf("upstream-runc installed for %q", out)
	}
}

// A bookworm host with the stack, upgraded to trixie (Debian's trixie and
// the repository's trixie .sources), gets the trixie builds with apt-get
// full-upgrade.
func TestStackUpgradeToTrixie(t *testing.T) {
	e, _ := stack(t)
	root := rootfs(t, "bookworm")
	installStack(t, root, "bookworm")
	checkStackVersions(t, root, "bookworm")
	withMirror(t, root, "trixie")
	copySources(t, root, filepath.Join(e.out, "repo"), stackSources("trixie"))
	if out, err := aptUpdate(root); err != nil {
		t.Fatalf("apt-get update with trixie sources: %v\n%s", err, out)
	}
	out, err := inRoot(root, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "full-upgrade", "-y",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold")
	if err != nil {
		t.Fatalf("apt-get full-upgrade to trixie: %v\n%s", err, testutil.LastLines(out, 40))
	}
	if v, _ := inRoot(root, "dpkg-query", "-W", "-f", "${Version}", "base-files"); !strings.HasPrefix(v, "13") {
		t.Errorf("the host did not become trixie: base-files %q", v)
	}
	checkStackVersions(t, root, "trixie")
}

// The arm64 runc (cgo, static-pie, libseccomp from the cross root) builds
// byte for byte the same in a fresh cache; so does an arm64 pure Go
// package (rootlesskit).
func TestStackArm64Reproducible(t *testing.T) {
	e, _ := stack(t)
	args := []string{"--specs", e.specs, "--out", e.out, "--signing-key", e.key}
	if c := os.Getenv("DEBFORGE_CACHE_DIR"); c != "" {
		args = append(args, "--cache-dir", c)
	}
	r := debforge(t, append(args, "verify-reproducible", "--target", "bookworm/arm64", "runc", "rootlesskit")...)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "rootlesskit@bookworm/arm64\treproducible\nrunc@bookworm/arm64\treproducible" {
		t.Errorf("verify-reproducible --target bookworm/arm64 runc rootlesskit: exit %d\n%s\n%s", r.code, r.stdout, testutil.LastLines(r.stderr, 40))
	}
}

// Every pure Go component (cgo off, nerdctl's patched module included) is
// compiled once per architecture: trixie's package reuses bookworm's
// compile, or is in the package cache already. Only cgo, C and script
// builds compile per release.
func TestStackSharesPureGoCompiles(t *testing.T) {
	_, r := stack(t)
	set, err := forge.LoadSpecs("../../specs")
	if err != nil {
		t.Fatal(err)
	}
	cache := map[string]string{}
	for _, line := range strings.Split(r.stderr, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.Contains(f[0], "@") {
			cache[f[0]] = f[2]
		}
	}
	checked := 0
	for _, c := range set.Components {
		b := c.Build
		if c.Name == "slirp4netns" || b == nil || b.Kind != "go" || (b.Cgo != nil && *b.Cgo) ||
			slices.ContainsFunc(b.Binaries, func(bin spec.GoBinary) bool { return bin.Cgo != nil && *bin.Cgo }) {
			continue
		}
		for _, arch := range []string{"amd64", "arm64"} {
			name := c.Name + "@trixie/" + arch
			checked++
			if got := cache[name]; got == "" || got == "miss" {
				t.Errorf("%s: cache %q, want shared (bookworm's compile) or hit", name, got)
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked %d trixie builds of pure Go components, want those of buildkit, cni-plugins, containerd, nerdctl and rootlesskit", checked)
	}
}
