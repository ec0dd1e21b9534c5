//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// Issue 11 item 11: debforge packages itself from specs/debforge-tool.yaml
// (a dir source of this repository): the debforge .deb carries a man page
// for every command and bash, zsh and fish completions in Debian's paths,
// and is lintian-clean.
func TestDebforgePackagesItself(t *testing.T) {
	testutil.RequireTool(t, "go", "gcc", "dpkg-deb", "lintian")
	e := newEnv(t, "../../specs")
	// specs/debforge.yaml lists four targets: this machine's is enough.
	r := e.run(t, "build", "--target", "bookworm/amd64", "debforge-tool")
	if r.code != 0 {
		t.Fatalf("build debforge-tool: exit %d\n%s", r.code, testutil.LastLines(r.stderr, 40))
	}
	deb := strings.TrimSpace(r.stdout)
	if filepath.Base(deb) == "" || !strings.HasPrefix(filepath.Base(deb), "debforge_") {
		t.Fatalf("built %q, want the debforge package", deb)
	}
	root := t.TempDir()
	sh(t, "dpkg-deb", "-x", deb, root)
	bin := filepath.Join(root, "usr/bin/debforge")
	help := sh(t, bin, "--help")
	_, cmds, ok := strings.Cut(help, "Available Commands:\n")
	if !ok {
		t.Fatalf("debforge --help lists no commands:\n%s", help)
	}
	pages := []string{"debforge.1.gz"}
	for _, line := range strings.Split(cmds, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			break
		}
		if f[0] != "help" {
			pages = append(pages, "debforge-"+f[0]+".1.gz")
		}
	}
	if len(pages) < 10 {
		t.Fatalf("only %d commands in --help:\n%s", len(pages), help)
	}
	for _, p := range pages {
		if _, err := os.Stat(filepath.Join(root, "usr/share/man/man1", p)); err != nil {
			t.Errorf("no man page %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/man/man1/debforge-gen-man.1.gz")); err == nil {
		t.Error("the hidden gen-man build step has a man page")
	}
	for _, p := range []string{"usr/share/bash-completion/completions/debforge",
		"usr/share/zsh/vendor-completions/_debforge", "usr/share/fish/vendor_completions.d/debforge.fish"} {
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || !strings.Contains(string(data), "debforge") {
			t.Errorf("completion %s: %v", p, err)
		}
	}
	// The man pages say nothing of the machine they were built on.
	page := sh(t, "sh", "-c", "zcat "+filepath.Join(root, "usr/share/man/man1/debforge-build.1.gz"))
	if home, _ := os.UserHomeDir(); home != "" && strings.Contains(page, home) {
		t.Errorf("debforge-build(1) names the build machine's home %s", home)
	}
	// Installing it makes the build user that root's builds run as.
	ctl := t.TempDir()
	sh(t, "dpkg-deb", "-e", deb, ctl)
	post, err := os.ReadFile(filepath.Join(ctl, "postinst"))
	if err != nil || !strings.Contains(string(post), "adduser --system --group --quiet --no-create-home --home /nonexistent '_debforge-build'") {
		t.Errorf("the postinst does not make the build user (%v):\n%s", err, post)
	}
	if dep := sh(t, "dpkg-deb", "-f", deb, "Depends"); !strings.Contains(dep, "adduser") || !strings.Contains(dep, "bubblewrap") {
		t.Errorf("Depends: %s lacks adduser or bubblewrap", dep)
	}
	if bad := lintianErrors(t, deb); len(bad) > 0 {
		t.Errorf("lintian:\n%s", strings.Join(bad, "\n"))
	}
	checkUpdateUnits(t, root, ctl)
}

// checkUpdateUnits checks the debforge update service and timer the
// package ships: systemd-analyze verify accepts them (read in a root of
// this host's units with the package's files over it, so that the
// binary they run is the package's), and the timer is installed, not
// enabled: the postinst records its state and enables nothing.
func checkUpdateUnits(t *testing.T, pkgRoot, ctl string) {
	t.Helper()
	testutil.RequireTool(t, "systemd-analyze")
	root := t.TempDir()
	testutil.Must(t, os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755))
	sh(t, "cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/"))
	sh(t, "cp", "-a", pkgRoot+"/.", root)
	units := []string{"debforge-update.service", "debforge-update.timer"}
	for _, u := range units {
		if _, err := os.Stat(filepath.Join(pkgRoot, "usr/lib/systemd/system", u)); err != nil {
			t.Fatalf("the package lacks %s: %v", u, err)
		}
	}
	verify := exec.Command("systemd-analyze", append([]string{"verify", "--man=no", "--root=" + root}, units...)...)
	if out, err := verify.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	post, err := os.ReadFile(filepath.Join(ctl, "postinst"))
	if err != nil || !strings.Contains(string(post), "deb-systemd-helper update-state 'debforge-update.timer'") ||
		strings.Contains(string(post), "deb-systemd-helper enable") || strings.Contains(string(post), "deb-systemd-invoke") {
		t.Errorf("the postinst should record the timer's state and neither enable nor start it (%v):\n%s", err, post)
	}
}
