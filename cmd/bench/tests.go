package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/buildroot"
	"github.com/debforge/debforge/internal/execx"
)

// testsTarget is where the stack's tests are timed.
var testsTarget = buildroot.Target{Release: "bookworm", Arch: "amd64"}

func printTests(d [2]time.Duration) {
	row("stack tests vs apt install of it (bookworm)", d[0], d[1], "<= 1.5")
}

// benchTests times `debforge test` of the whole stack on bookworm/amd64
// with no result kept (the clean root made), against what it is measured
// by: installing the stack with apt into a fresh copy of the same clean
// root, as an admin would in a new container (chroot, apt-get update,
// apt-get install rootless-containerd-stack). Medians of 3.
func benchTests(work, bin string) ([2]time.Duration, error) {
	var out [2]time.Duration
	specs := filepath.Join(work, "specs-tests")
	if err := cmdRun("cp", "-a", "specs", specs); err != nil {
		return out, err
	}
	conf, err := os.ReadFile(filepath.Join(specs, "debforge.yaml"))
	if err != nil {
		return out, err
	}
	conf = targetsLine.ReplaceAll(conf, []byte("targets: [bookworm/amd64]"))
	if err := os.WriteFile(filepath.Join(specs, "debforge.yaml"), conf, 0o644); err != nil {
		return out, err
	}
	key, repoOut := filepath.Join(work, "key.asc"), filepath.Join(work, "out-tests")
	if err := ensureKey(bin, specs, key); err != nil {
		return out, err
	}
	// Built with make build's cache: only what it lacks compiles.
	args := []string{"--specs", specs, "--out", repoOut, "--signing-key", key}
	if err := cmdRun(bin, append(args, stackBuild...)...); err != nil {
		return out, err
	}
	store := &buildroot.Store{Dir: os.Getenv("DEBFORGE_ROOTS_DIR"), Runner: execx.OS{}, Variant: "apt"}
	clean, err := store.Ensure(context.Background(), testsTarget, nil, io.Discard)
	if err != nil {
		return out, err
	}
	run := 0
	out[0], err = median(3, func() (time.Duration, error) {
		run++
		// A cache of its own each time: no result is kept from before.
		cache := filepath.Join(work, fmt.Sprintf("cache-tests-%d", run))
		return timed(func() error { return cmdRun(bin, append(args, "--cache-dir", cache, "test", "all")...) })
	})
	if err != nil {
		return out, err
	}
	out[1], err = median(3, func() (time.Duration, error) {
		return timed(func() error { return aptInstallStack(work, clean.FS, filepath.Join(repoOut, "repo")) })
	})
	return out, err
}

// aptInstallStack copies the clean root, adds the repository (bound in
// read-only, verified with its key) and installs the stack with the
// root's own apt, then removes the copy.
func aptInstallStack(work, clean, repo string) error {
	tree := filepath.Join(work, "apt-install")
	if err := cmdRun("cp", "-a", clean, tree); err != nil {
		return err
	}
	srv := filepath.Join(tree, "srv/repo")
	if err := os.MkdirAll(srv, 0o755); err != nil {
		return err
	}
	if err := cmdRun("mount", "--bind", "-o", "ro", repo, srv); err != nil {
		return err
	}
	err := installStack(tree)
	// The copy goes only once the repository is no longer under it.
	if uerr := cmdRun("umount", srv); uerr != nil {
		return uerr
	}
	if rerr := os.RemoveAll(tree); err == nil {
		err = rerr
	}
	return err
}

func installStack(tree string) error {
	source := fmt.Sprintf("Types: deb\nURIs: file:/srv/repo\nSuites: %s\nComponents: main\nSigned-By: /srv/repo/debforge-archive-keyring.gpg\n", testsTarget.Release)
	if err := os.WriteFile(filepath.Join(tree, "etc/apt/sources.list.d/debforge.sources"), []byte(source), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"apt-get", "update", "-q"}, {"apt-get", "install", "-q", "-y", "rootless-containerd-stack"}} {
		cmd := exec.Command("chroot", append([]string{tree}, args...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8"}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s in a copy of the clean root: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
