package forge

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/buildsite"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// fakeRoot makes a ready root of release/arch in the store at dir whose
// apt knew names.
func fakeRoot(t *testing.T, dir, release, arch string, names ...string) {
	t.Helper()
	root := filepath.Join(dir, release+"-"+arch, "base")
	for _, p := range []string{"rootfs/var/lib/dpkg", "rootfs/var/lib/debforge"} {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"meta.json":                             `{"release": "` + release + `", "arch": "` + arch + `"}`,
		"rootfs/var/lib/dpkg/status":            "Package: dpkg\nStatus: install ok installed\nArchitecture: " + arch + "\nVersion: 1.21.22\n\n",
		"rootfs/var/lib/debforge/release-names": strings.Join(names, "\n") + "\n",
	}
	for p, body := range files {
		if err := os.WriteFile(filepath.Join(root, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A meta-package (no root of its own) in a run that made no root takes
// the release's names from a ready root of the target in the store,
// never from the host's apt (which may know another release); with no
// such root there is no check and a note says so.
func TestReleaseNamesNeverFromHost(t *testing.T) {
	dir := t.TempDir()
	fakeRoot(t, dir, "bookworm", "amd64", "hello", "bash")
	fakeRoot(t, dir, "trixie", "amd64", "ani-cli")
	run := &execx.Fake{}
	f := &Forge{opts: Options{RootsDir: dir}, runner: run, set: &spec.Set{Repo: &spec.Repo{}}}
	be := &buildEnv{target: buildroot.Target{Release: "trixie", Arch: "amd64"}, roots: &buildsite.Roots{}}
	var log bytes.Buffer
	names := f.releaseNames(be, nil, &log)
	if !names["ani-cli"] || names["hello"] {
		t.Errorf("names for trixie/amd64 = %v, want trixie's root's", names)
	}
	if len(run.Cmds) > 0 {
		t.Errorf("ran %v on the host", run.Cmds)
	}

	f = &Forge{opts: Options{RootsDir: t.TempDir()}, runner: run, set: &spec.Set{Repo: &spec.Repo{}}}
	log.Reset()
	if names := f.releaseNames(be, nil, &log); names != nil {
		t.Errorf("no roots: names %v, want none", names)
	}
	if !strings.Contains(log.String(), "package names are not checked") {
		t.Errorf("no note in the log: %q", log.String())
	}
	if len(run.Cmds) > 0 {
		t.Errorf("ran %v on the host", run.Cmds)
	}
}
