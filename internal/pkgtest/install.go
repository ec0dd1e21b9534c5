package pkgtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/spec"
)

// The package is installed with this host's apt working on the tree, as
// mmdebstrap installs a foreign root: apt resolves and downloads natively
// and only dpkg and the maintainer scripts run inside the tree (chrooted,
// under qemu-user for another architecture). The tree's own apt, under
// qemu, spent 50 s parsing a release's package lists for each package.

// aptConf makes apt read none of this host's configuration (its
// apt.conf.d hooks would run inside the tree: debconf's preconfigure
// took 47 s under qemu): only what the tree and the options say.
const aptConf = `Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "%s";
`

// install installs the package and the tests' needs into tree with apt:
// the release's packages from the mirror the clean root was made from
// (verified with the tree's keys), the package from the repository,
// verified with the repository's key. Recommends are left out, as
// autopkgtest leaves them out: a test that passes does not lean on a
// package an admin may leave out (a test that needs one names it in
// needs), and the stack's tests on bookworm/amd64 took 14.4 s, not 16.3.
func (tr *Tester) install(ctx context.Context, tree string, pub published, tests []spec.Test, t Target, lists *targetLists, log io.Writer) error {
	// No service a package ships starts in the tree, as in a build root.
	if err := os.WriteFile(filepath.Join(tree, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		return err
	}
	conf, err := tr.aptConfig(tree, t)
	if err != nil {
		return err
	}
	defer os.RemoveAll(conf)
	pkgs := []string{pub.Name + "=" + pub.Version}
	for _, tc := range tests {
		pkgs = append(pkgs, tc.Needs...)
	}
	fmt.Fprintf(log, "== install %s into a clean %s root\n", strings.Join(pkgs, " "), t)
	apt := []string{"apt-get", "-o", "Dir=" + tree, "-o", "Dir::State::status=" + filepath.Join(tree, "var/lib/dpkg/status"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(conf, "sources"),
		"-o", "APT::Architecture=" + t.Arch, "-o", "APT::Architectures::=" + t.Arch,
		"-o", "DPkg::Chroot-Directory=" + tree, "-o", "DPkg::Options::=--force-unsafe-io", "-o", "Dpkg::Use-Pty=0",
		"-o", "APT::Install-Recommends=false"}
	env := []string{"APT_CONFIG=" + filepath.Join(conf, "apt.conf"), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8",
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	apt = append(apt, lists.aptOptions(log)...)
	if err := execx.RunLogged(ctx, tr.Runner, execx.Cmd{Args: append(append(apt, "install", "-q", "-y"), pkgs...), Env: env}, log); err != nil {
		return fmt.Errorf("install %s: %w", pub.Name, err)
	}
	return nil
}

// aptConfig writes, beside tree, apt's configuration for it and the
// repository's source (copy: puts the .debs where the chrooted dpkg
// reads them), and returns its directory.
func (tr *Tester) aptConfig(tree string, t Target) (string, error) {
	conf := tree + ".apt"
	for _, d := range []string{"parts", "sources"} {
		if err := os.MkdirAll(filepath.Join(conf, d), 0o755); err != nil {
			return "", err
		}
	}
	source, err := tr.repoSource(t)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(conf, "sources", "debforge-test.sources"), source, 0o644); err != nil {
		return "", err
	}
	return conf, os.WriteFile(filepath.Join(conf, "apt.conf"), []byte(fmt.Sprintf(aptConf, filepath.Join(conf, "parts"))), 0o644)
}

// repoSource is the repository's source for t's tests: copy: puts the
// .debs where the chrooted dpkg reads them, and only the repository's
// key is trusted for it.
func (tr *Tester) repoSource(t Target) ([]byte, error) {
	repo, err := filepath.Abs(tr.RepoDir)
	if err != nil {
		return nil, err
	}
	return []byte(fmt.Sprintf("Types: deb\nURIs: copy:%s\nSuites: %s\nComponents: %s\nSigned-By: %s\n",
		repo, t.suite(), tr.Component, filepath.Join(repo, tr.KeyName+".gpg"))), nil
}

// addUserScript adds the unprivileged test user, with a home. It runs
// inside the tree, so that a path the installed packages made a link
// resolves there and nowhere on this host.
const addUserScript = `set -eu
echo "` + User + `:x:1000:1000:debforge test user:` + userDir + `:/bin/sh" >>/etc/passwd
echo "` + User + `:x:1000:" >>/etc/group
echo "` + User + `:*:19000:0:99999:7:::" >>/etc/shadow
mkdir -p ` + userDir + ` && chown 1000:1000 ` + userDir + `
`

// addUser adds the test user to tree.
func (tr *Tester) addUser(ctx context.Context, tree string, log io.Writer) error {
	args := []string{"bwrap", "--bind", tree, "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net", "--die-with-parent",
		"--clearenv", "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "sh", "-c", addUserScript}
	if err := execx.RunLogged(ctx, tr.Runner, execx.Cmd{Args: args}, log); err != nil {
		return fmt.Errorf("add the test user: %w", err)
	}
	return nil
}
