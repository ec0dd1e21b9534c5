package forge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/spec"
)

// A multi-target run checks the made roots of every target before the
// first target builds: a damaged root of the last target must stop the
// run while the first target's components could still add to the pool.
func TestVerifyTargetRootsChecksEveryTargetFirst(t *testing.T) {
	dir := t.TempDir()
	good := []byte("a healthy root tarball")
	sum := sha256.Sum256(good)
	tarballs := map[string]string{}
	for _, rel := range []string{"bookworm", "trixie"} {
		fakeRoot(t, dir, rel, buildArch())
		base := filepath.Join(dir, rel+"-"+buildArch(), "base")
		tarballs[rel] = filepath.Join(base, "root.tar")
		meta := `{"release": "` + rel + `", "arch": "` + buildArch() + `", "tar_sha256": "` + hex.EncodeToString(sum[:]) + `"}`
		if err := os.WriteFile(filepath.Join(base, "meta.json"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tarballs[rel], good, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &spec.Component{Name: "hello", File: "hello.yaml", Build: &spec.Build{Kind: "script"}, Package: &spec.Package{Architecture: "any"}}
	f := &Forge{opts: Options{RootsDir: dir}, set: &spec.Set{Repo: &spec.Repo{}, Components: []*spec.Component{c}}}
	targets := []spec.Target{{Release: "bookworm", Arch: buildArch()}, {Release: "trixie", Arch: buildArch()}}
	if err := f.verifyTargetRoots(targets, f.set.Components); err != nil {
		t.Fatalf("healthy roots: %v", err)
	}
	if err := os.WriteFile(tarballs["trixie"], []byte("a damaged root tarbal!"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := f.verifyTargetRoots(targets, f.set.Components)
	var he *buildroot.HashError
	if !errors.As(err, &he) || he.Tarball != tarballs["trixie"] || he.Target.Release != "trixie" {
		t.Fatalf("a damaged trixie root, bookworm first: %v, want the trixie tarball's HashError", err)
	}
	// A target that builds none of the components is not checked.
	c.Targets = []string{"bookworm/" + buildArch()}
	if err := f.verifyTargetRoots(targets, f.set.Components); err != nil {
		t.Errorf("trixie builds nothing, yet its root was checked: %v", err)
	}
}
