package buildroot

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/filelock"
)

// A root with build dependencies is derived from its target's base root
// rather than bootstrapped again: the base tree is copied with its files
// hard-linked, except the parts package installation writes in place,
// and the build dependencies are installed into the copy with the root's
// own apt and dpkg. Deriving takes seconds where mmdebstrap took a minute,
// and a derived root costs its new files only (tens of MB), not a second
// 450 MB tree and its tarball.
//
// dpkg never writes into an installed file: it unpacks a new one beside it
// and renames it over, so a linked file of the base is replaced in the
// copy, never changed. Maintainer scripts and logs do write in place, in
// /etc and /var; those trees (and /root) are copied outright. Whatever
// else writes into a linked file is caught: the base's linked files are
// compared before and after, and a derivation that changed one fails.
var copiedTrees = []string{"etc", "var", "root"}

// deriveScript installs the build dependencies ("$@") into the derived
// tree, with the foreign architectures of cross builds ($ARCHS) added,
// records the release's package names from the fresh lists, and leaves
// apt's lists and archives empty as mmdebstrap does.
const deriveScript = `set -eu
for a in $ARCHS; do dpkg --add-architecture "$a"; done
apt-get update -q
apt-get install -q -y --no-install-recommends -o Dpkg::Use-Pty=0 "$@"
mkdir -p /` + releaseNamesDir + `
apt-cache --all-names pkgnames >/` + releaseNamesFile + `
apt-get clean
find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete
`

// policyRcD keeps services of installed packages from starting in the
// tree while it is derived, as mmdebstrap does.
const policyRcD = "usr/sbin/policy-rc.d"

// derive makes dir's root as base plus deps, replacing what dir held.
func (s *Store) derive(ctx context.Context, t Target, deps []string, dir string, log io.Writer) error {
	if geteuid() != 0 {
		return &NeedRootError{Target: t, Depends: deps, Dir: s.Dir}
	}
	baseDir := s.dir(t, nil)
	// The base stays put while it is copied: root update waits for this.
	unuse, err := flockFile(ctx, filepath.Join(baseDir, ".use"), syscall.LOCK_SH, nil)
	if err != nil {
		return err
	}
	defer unuse()
	base, err := s.Ensure(ctx, t, nil, log)
	if err != nil {
		return err
	}
	bm, err := readMeta(baseDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "deriving build root %s %v from its base\n", t, deps)
	tmp := filepath.Join(dir, "rootfs.tmp")
	if err := s.linkCopy(ctx, base.FS, tmp, log); err != nil {
		return err
	}
	before, err := linkedFiles(base.FS)
	if err != nil {
		return err
	}
	if err := s.install(ctx, t, deps, tmp, log); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	after, err := linkedFiles(base.FS)
	if err != nil {
		return err
	}
	if changed := changedFiles(before, after); len(changed) > 0 {
		os.RemoveAll(tmp)
		return &BaseChangedError{Target: t, Depends: deps, Files: changed}
	}
	m := meta{Release: t.Release, Arch: t.Arch, Depends: deps, Sources: bm.Sources, Base: bm.TarSHA256}
	return replaceTree(dir, tmp, m)
}

// linkCopy copies the tree base to dst, hard-linking its files except
// under copiedTrees, which are copied.
func (s *Store) linkCopy(ctx context.Context, base, dst string, log io.Writer) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	cmds := [][]string{{"cp", "-a", "--link", base, dst}}
	for _, d := range copiedTrees {
		if _, err := os.Lstat(filepath.Join(base, d)); err != nil {
			continue
		}
		cmds = append(cmds, []string{"rm", "-rf", filepath.Join(dst, d)}, []string{"cp", "-a", filepath.Join(base, d), filepath.Join(dst, d)})
	}
	for _, args := range cmds {
		if err := execx.RunLogged(ctx, s.Runner, execx.Cmd{Args: args}, log); err != nil {
			os.RemoveAll(dst)
			return fmt.Errorf("copy the base root %s: %w", base, err)
		}
	}
	return nil
}

// install runs deriveScript as root in tree, with the host's network and
// name servers, and apt's messages about packages it cannot install as an
// *UnavailableError.
func (s *Store) install(ctx context.Context, t Target, deps []string, tree string, log io.Writer) error {
	var archs []string
	for _, d := range deps {
		if _, a, ok := strings.Cut(d, ":"); ok && a != t.Arch && a != "any" && !slices.Contains(archs, a) {
			archs = append(archs, a)
		}
	}
	policy := filepath.Join(tree, policyRcD)
	if _, err := os.Lstat(policy); os.IsNotExist(err) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return err
		}
		defer os.Remove(policy)
	}
	args := []string{"bwrap", "--bind", tree, "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp"}
	if _, err := os.Stat("/etc/resolv.conf"); err == nil {
		args = append(args, "--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf")
	}
	args = append(args, "--clearenv", "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin",
		"--setenv", "DEBIAN_FRONTEND", "noninteractive", "--setenv", "LC_ALL", "C.UTF-8",
		"--setenv", "ARCHS", strings.Join(archs, " "),
		"sh", "-c", deriveScript, "derive-root")
	args = append(args, deps...)
	if err := execx.RunLogged(ctx, s.Runner, execx.Cmd{Args: args}, log); err != nil {
		if pkgs, lines := missingPackages(err); len(pkgs) > 0 {
			return &UnavailableError{Target: t, Packages: pkgs, AptSaid: lines, Err: err}
		}
		return fmt.Errorf("install build dependencies into build root %s: %w", t, err)
	}
	return nil
}

// fileState is what an in-place write to a file changes.
type fileState struct {
	size, mtime   int64
	mode          fs.FileMode
	uid, gid, ino uint64
}

// linkedFiles records every regular file of the base tree that a derived
// root links to.
func linkedFiles(base string) (map[string]fileState, error) {
	files := map[string]fileState{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		if d.IsDir() && slices.Contains(copiedTrees, rel) {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		files[rel] = fileState{size: fi.Size(), mtime: st.Mtim.Nano(), mode: fi.Mode(), uid: uint64(st.Uid), gid: uint64(st.Gid), ino: st.Ino}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the base root %s: %w", base, err)
	}
	return files, nil
}

// changedFiles lists the files of before that after lacks or has changed.
func changedFiles(before, after map[string]fileState) []string {
	var changed []string
	for p, st := range before {
		if after[p] != st {
			changed = append(changed, "/"+p)
		}
	}
	slices.Sort(changed)
	return changed
}

// BaseChangedError is a derivation that wrote into files it shares with
// the base root: the base tree is no longer what its tarball holds.
type BaseChangedError struct {
	Target  Target
	Depends []string
	Files   []string
}

func (e *BaseChangedError) Error() string {
	files := e.Files
	if len(files) > 5 {
		files = append(slices.Clone(files[:5]), fmt.Sprintf("and %d more", len(e.Files)-5))
	}
	return fmt.Sprintf("build root %s %v: installing the build dependencies wrote into files shared with the base root: %s",
		e.Target, e.Depends, strings.Join(files, ", "))
}

// Hint names the fix.
func (e *BaseChangedError) Hint() string {
	return "a maintainer script wrote into an installed file in place; remake the base with: debforge root update " + e.Target.String() +
		", and report the package that did it"
}

// replaceTree puts tmp in place as dir's rootfs with meta m. The old meta
// goes first: a crash in between leaves no meta, so the next run makes
// the root again rather than using a half-written one.
func replaceTree(dir, tmp string, m meta) error {
	for _, p := range []string{"meta.json", stampFile, "rootfs", "root.tar", layerTar, layerTar + ".sha256", layerTar + ".deleted"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, "rootfs")); err != nil {
		return err
	}
	return writeMeta(dir, m)
}

// DiskUsage is the disk r takes on its own: a base root's tree and
// tarball; a derived root's files that it does not share with the base
// (hard links to the base's files are the base's).
func (s *Store) DiskUsage(r *Root) (int64, error) {
	var total int64
	err := filepath.WalkDir(r.FS, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if r.Base == "" || d.IsDir() || st.Nlink == 1 {
			total += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of build root %s: %w", r.FS, err)
	}
	for _, f := range []string{r.Tarball, filepath.Join(filepath.Dir(r.FS), layerTar)} {
		if fi, err := os.Stat(f); err == nil && f != "" {
			total += fi.Sys().(*syscall.Stat_t).Blocks * 512
		}
	}
	return total, nil
}

// DirOf is where the root of t with deps is kept.
func (s *Store) DirOf(t Target, deps []string) string { return s.dir(t, normDeps(deps)) }

// Prune removes every derived root whose directory keep does not hold,
// and returns the directories it removed. Base roots (of any variant) stay: one per target,
// they take a minute to make again, and other spec directories that share
// the store may build on them. A root a build uses at the moment is left
// alone (busy lists them), as is anything that is not a made root (the
// toolchains, a root being made).
func (s *Store) Prune(keep map[string]bool) (removed, busy []string, err error) {
	dirs, err := filepath.Glob(filepath.Join(s.Dir, "*", "*", "meta.json"))
	if err != nil {
		return nil, nil, err
	}
	for _, m := range dirs {
		dir := filepath.Dir(m)
		if keep[dir] || strings.HasPrefix(filepath.Base(dir), "base") {
			continue
		}
		if geteuid() != 0 {
			return removed, busy, &NeedRootError{Dir: s.Dir}
		}
		unuse, err := filelock.Try(filepath.Join(dir, ".use"), syscall.LOCK_EX)
		if err != nil {
			busy = append(busy, dir)
			continue
		}
		err = os.RemoveAll(dir)
		unuse()
		if err != nil {
			return removed, busy, fmt.Errorf("remove build root %s: %w", dir, err)
		}
		removed = append(removed, dir)
	}
	return removed, busy, nil
}
