package buildroot

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/filehash"
	"github.com/debforge/debforge/internal/filelock"
)

// MountPoints exist (empty) in every unpacked root so that a sandbox can
// bind its work directories and the toolchain onto a read-only "/".
var MountPoints = []string{"build/src", "build/stage", "build/tmp", "build/home", "build/shlibs", "build/go/mod", "build/go/build", "usr/local/go"}

// Store keeps build roots under Dir/<release>-<arch>/<id>/.
type Store struct {
	Dir string
	// Mirror overrides the host's apt mirror (debforge.yaml "mirror:").
	Mirror string
	// ReleaseMirrors override Mirror for a release (debforge.yaml
	// "releases: {noble: {mirror: …}}"): Ubuntu's roots come from
	// Ubuntu's archive.
	ReleaseMirrors map[string]string
	Runner         execx.Runner
	// Variant is mmdebstrap's --variant for base roots: buildd (the
	// default: essential, apt and build-essential) for build roots, apt
	// for the clean roots packages are tested in.
	Variant string
}

// mirrorFor is the mirror roots of release are made from ("" is the host's).
func (s *Store) mirrorFor(release string) string {
	if m := s.ReleaseMirrors[release]; m != "" {
		return m
	}
	return s.Mirror
}

// Package is one installed package of a root.
type Package struct{ Name, Arch, Version string }

func (p Package) String() string { return p.Name + ":" + p.Arch + "=" + p.Version }

// Root is a ready, unpacked build root.
type Root struct {
	Target  Target
	Depends []string // the build dependencies it was made with, sorted
	// FS is the unpacked tree a sandbox binds read-only as "/".
	FS string
	// Tarball is the archive a base root's FS was unpacked from ("" for a
	// root derived from its base). TarSHA256 is the recorded hash of the
	// base root's tarball: the bootstrapped tree every root of the target
	// starts from (Key covers what a derived root installs on top).
	Tarball, TarSHA256 string
	// Base is the FS of the base root this root derives from; "" for a base.
	Base string
	// Stale is a derived root that is not derived from the current base
	// (or a whole root made by an older debforge): it is derived again
	// before a build uses it.
	Stale bool
	// Packages is what dpkg says is installed in FS, sorted by name.
	Packages []Package
	// Key hashes the target and the exact package set.
	Key string
	// Variant is the mmdebstrap variant of a base made with another than
	// buildd: apt for the clean roots packages are tested in.
	Variant string
}

// meta is what a root records beside its tarball.
type meta struct {
	Release   string   `json:"release"`
	Arch      string   `json:"arch"`
	Depends   []string `json:"depends"`
	Sources   []string `json:"sources"`
	TarSHA256 string   `json:"tar_sha256,omitempty"`
	// Base is the sha256 of the base root's tarball a derived root was
	// derived from: a base made again since leaves the root stale.
	Base string `json:"base,omitempty"`
	// Variant is mmdebstrap's variant, when not buildd.
	Variant string `json:"variant,omitempty"`
}

// writeMeta records m as dir's meta.json, written last when a root is made.
func writeMeta(dir string, m meta) error {
	data, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(dir, "meta.json"), data, 0o644)
}

// HashError is a root tarball that does not match its recorded sha256.
type HashError struct {
	Tarball, Want, Got string
	Target             Target
}

func (e *HashError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("build root %s: %s is missing (its meta.json records sha256 %s)", e.Target, e.Tarball, e.Want)
	}
	return fmt.Sprintf("build root %s: %s fails its recorded sha256 (want %s, got %s)", e.Target, e.Tarball, e.Want, e.Got)
}

// Hint names the fix.
func (e *HashError) Hint() string {
	return "the cached root is damaged or was altered; make it again with: debforge root update " + e.Target.String()
}

// UnavailableError is a build dependency the target's release does not
// have for the architecture asked (libipt-dev:arm64: Debian builds it for
// amd64 only), or at all.
type UnavailableError struct {
	Target   Target
	Packages []string
	AptSaid  []string // apt's own lines about them
	Err      error    // the failed command, with its output
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("build root %s: cannot install %s from the mirror (%s)", e.Target, strings.Join(e.Packages, ", "), strings.Join(e.AptSaid, "; "))
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Hint says where to look and what to do.
func (e *UnavailableError) Hint() string {
	return "check the names in build_depends (apt-cache policy NAME on a " + e.Target.Release +
		" host; a :ARCH suffix is the cross build's library for that architecture), or restrict the spec with targets: or architectures:"
}

// aptMissing matches apt's messages for a package it cannot install.
var aptMissing = regexp.MustCompile(`E: (?:Unable to locate package (\S+)|Package '([^']+)' has no installation candidate|Couldn't find any package by (?:glob|regex) '([^']+)')`)

// missingPackages lists the packages apt named as not installable in a
// failed command's output, and apt's lines that say so.
func missingPackages(err error) (pkgs, lines []string) {
	var ce *execx.CommandError
	if !errors.As(err, &ce) {
		return nil, nil
	}
	for _, m := range aptMissing.FindAllStringSubmatch(ce.Tail, -1) {
		for _, name := range m[1:] {
			if name != "" && !slices.Contains(pkgs, name) {
				pkgs = append(pkgs, name)
				lines = append(lines, m[0])
			}
		}
	}
	return pkgs, lines
}

// ErrNeedRoot means making a root needs privileges debforge does not have.
// It comes as a *NeedRootError, which names the fix.
var ErrNeedRoot = errors.New("making a build root needs root (mmdebstrap unpacks packages owned by many users)")

// NeedRootError is a root a non-root user's build needs and that is not
// made (or not unpacked) yet: only root can make it, once; builds as any
// user then reuse it.
type NeedRootError struct {
	Target  Target
	Depends []string // the root's build dependencies; none for the base root
	Dir     string   // the store (--roots-dir)
}

func (e *NeedRootError) Error() string {
	what := "the base root"
	if len(e.Depends) > 0 {
		what = "the root for build_depends [" + strings.Join(e.Depends, " ") + "]"
	}
	return fmt.Sprintf("build root %s: %s is not made yet in %s: %v", e.Target, what, e.Dir, ErrNeedRoot)
}

func (e *NeedRootError) Is(target error) bool { return target == ErrNeedRoot }

// Hint is the command that makes the root, as root, in the store this
// user reads (root's default store is another directory).
func (e *NeedRootError) Hint() string {
	if len(e.Depends) == 0 {
		return "make it once as root, in this store: sudo debforge --roots-dir " + e.Dir + " root update " + e.Target.String()
	}
	return "make it once as root, in this store: run this build as root with --roots-dir " + e.Dir +
		" (sudo debforge --roots-dir " + e.Dir + " … build …); builds as this user then reuse it"
}

// geteuid is os.Geteuid; tests replace it to act as a non-root user.
var geteuid = os.Geteuid

// variant is mmdebstrap's --variant for the store's base roots.
func (s *Store) variant() string {
	if s.Variant == "" {
		return "buildd"
	}
	return s.Variant
}

func (s *Store) dir(t Target, deps []string) string {
	id := "base"
	if v := s.variant(); v != "buildd" {
		id += "-" + v // beside the build roots' base, never mistaken for it
	}
	if len(deps) > 0 {
		h := sha256.Sum256([]byte(strings.Join(deps, "\n")))
		id = hex.EncodeToString(h[:8])
	}
	return filepath.Join(s.Dir, t.Release+"-"+t.Arch, id)
}

// Ensure returns the root of t with deps installed, making it if needed.
// A cached root is reused without unpacking anything again.
func (s *Store) Ensure(ctx context.Context, t Target, deps []string, log io.Writer) (*Root, error) {
	deps = normDeps(deps)
	dir := s.dir(t, deps)
	if r, err := s.ready(t, dir); err == nil {
		return r, nil
	}
	unlock, err := lockDir(ctx, dir, t, deps, log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if r, err := s.ready(t, dir); err == nil { // made while we waited
		return r, nil
	}
	if err := s.makeOrUnpack(ctx, t, deps, dir, log); err != nil {
		return nil, err
	}
	return s.load(t, dir)
}

// makeOrUnpack makes dir's root: a base is unpacked again from its
// recorded tarball when it has one, or bootstrapped; a root with build
// dependencies is derived from the base.
func (s *Store) makeOrUnpack(ctx context.Context, t Target, deps []string, dir string, log io.Writer) error {
	if len(deps) > 0 {
		return s.derive(ctx, t, deps, dir, log)
	}
	if m, err := readMeta(dir); err == nil && exists(filepath.Join(dir, "root.tar")) {
		return s.unpack(ctx, t, dir, m, log)
	}
	return s.make(ctx, t, dir, log)
}

// Update makes the base root of t and every root of t made before afresh
// from the mirror, and returns them.
func (s *Store) Update(ctx context.Context, t Target, log io.Writer) ([]*Root, error) {
	sets := [][]string{nil}
	dirs, _ := filepath.Glob(filepath.Join(s.Dir, t.Release+"-"+t.Arch, "*"))
	for _, d := range dirs {
		if m, err := readMeta(d); err == nil && len(m.Depends) > 0 {
			sets = append(sets, m.Depends)
		}
	}
	var roots []*Root
	for _, deps := range sets {
		r, err := s.remake(ctx, t, deps, log)
		if err != nil {
			return roots, err
		}
		roots = append(roots, r)
	}
	return roots, nil
}

// UpdateBase makes t's base root of the store's variant afresh, when
// there is one: a store of clean roots (Variant apt, for tests) has
// nothing derived from its base.
func (s *Store) UpdateBase(ctx context.Context, t Target, log io.Writer) (*Root, error) {
	if _, err := readMeta(s.dir(t, nil)); err != nil {
		return nil, nil
	}
	return s.remake(ctx, t, nil, log)
}

// remake makes the root of t with deps afresh (a base when deps is
// empty), after the builds that use it are done.
func (s *Store) remake(ctx context.Context, t Target, deps []string, log io.Writer) (*Root, error) {
	dir := s.dir(t, deps)
	// Builds that use the root hold .use shared (Acquire): wait for
	// them before the tree goes away.
	unuse, err := flockFile(ctx, filepath.Join(dir, ".use"), syscall.LOCK_EX, func() {
		fmt.Fprintf(log, "waiting for the builds that use build root %s %v to finish\n", t, deps)
	})
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, dir, t, deps, log)
	if err != nil {
		unuse()
		return nil, err
	}
	if len(deps) > 0 {
		err = s.derive(ctx, t, deps, dir, log)
	} else {
		err = s.make(ctx, t, dir, log)
	}
	unlock()
	unuse()
	if err != nil {
		return nil, err
	}
	return s.load(t, dir)
}

// List returns every ready root in the store.
func (s *Store) List() ([]*Root, error) {
	dirs, err := filepath.Glob(filepath.Join(s.Dir, "*", "*"))
	if err != nil {
		return nil, err
	}
	var roots []*Root
	for _, d := range dirs {
		m, err := readMeta(d)
		if err != nil {
			continue
		}
		if r, err := s.load(Target{Release: m.Release, Arch: m.Arch}, d); err == nil {
			roots = append(roots, r)
		}
	}
	return roots, nil
}

// Verify checks the root of t with deps, when it is made, against the
// sha256 its meta.json records, before a run uses it; a root not made yet
// passes (Ensure makes it and records the hash of its new tarball).
//
// Hashing costs: a 430 MB tarball takes about 4-6 s, a 1.3 GB one about
// 15 s, and a store holds a few dozen roots, while a no-op build must stay
// under a second. So the tarball is hashed only when it is new to the
// store or changed: a stamp beside it (root.tar.verified) records its
// size, mtime, ctime, inode and device when its hash last matched, and a
// tarball with the same identity is not hashed again. Any write to the
// file changes its ctime, which only a change of the system clock could
// set back, so a tarball that
// was damaged or replaced since is always hashed. What the stamp does not
// cover is the unpacked rootfs/: it is root's, bound read-only into every
// sandbox and never written by debforge after unpacking; the key is read
// from its dpkg database on every run.
func (s *Store) Verify(t Target, deps []string) error {
	dir := s.dir(t, nil) // a derived root is its base's tree and what dpkg installed on top
	m, err := readMeta(dir)
	if err != nil {
		return nil
	}
	return s.verifyTar(t, dir, m)
}

// tarStamp is a tarball's identity when its sha256 last matched meta.json.
type tarStamp struct {
	Size   int64  `json:"size"`
	Mtime  int64  `json:"mtime_ns"`
	Ctime  int64  `json:"ctime_ns"`
	Ino    uint64 `json:"ino"`
	Dev    uint64 `json:"dev"`
	SHA256 string `json:"sha256"`
}

const stampFile = "root.tar.verified"

// hashFile is filehash.SHA256; tests count its calls.
var hashFile = filehash.SHA256

func stampOf(fi os.FileInfo, sum string) tarStamp {
	st := fi.Sys().(*syscall.Stat_t)
	return tarStamp{Size: fi.Size(), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino, Dev: uint64(st.Dev), SHA256: sum}
}

// writeStamp records that dir's tarball matches sum. It is best effort: a
// user who cannot write the store only hashes again next run.
func writeStamp(dir, sum string) {
	fi, err := os.Stat(filepath.Join(dir, "root.tar"))
	if err != nil {
		return
	}
	data, _ := json.Marshal(stampOf(fi, sum))
	tmp := filepath.Join(dir, stampFile+".tmp")
	if os.WriteFile(tmp, data, 0o644) == nil {
		os.Rename(tmp, filepath.Join(dir, stampFile))
	}
}

// verifyTar checks dir's tarball against m's sha256, hashing it only when
// its stamp does not match (see Verify).
func (s *Store) verifyTar(t Target, dir string, m meta) error {
	tarball := filepath.Join(dir, "root.tar")
	fi, err := os.Stat(tarball)
	if errors.Is(err, os.ErrNotExist) {
		return &HashError{Tarball: tarball, Want: m.TarSHA256, Target: t}
	}
	if err != nil {
		return fmt.Errorf("build root %s: %w", t, err)
	}
	var old tarStamp
	if data, err := os.ReadFile(filepath.Join(dir, stampFile)); err == nil && json.Unmarshal(data, &old) == nil &&
		old == stampOf(fi, m.TarSHA256) {
		return nil
	}
	got, err := hashFile(tarball)
	if err != nil {
		return fmt.Errorf("build root %s: %w", t, err)
	}
	if got != m.TarSHA256 {
		os.Remove(filepath.Join(dir, stampFile))
		return &HashError{Tarball: tarball, Want: m.TarSHA256, Got: got, Target: t}
	}
	writeStamp(dir, got)
	return nil
}

// make runs mmdebstrap into a new base tarball, records its hash and
// unpacks it.
func (s *Store) make(ctx context.Context, t Target, dir string, log io.Writer) error {
	if geteuid() != 0 {
		return &NeedRootError{Target: t, Dir: s.Dir}
	}
	lines, err := MirrorLines(t.Release, s.mirrorFor(t.Release))
	if err != nil {
		return err
	}
	tmpTar := filepath.Join(dir, "root.tar.tmp")
	variant := s.variant()
	args := []string{"mmdebstrap", "--variant=" + variant, "--mode=root", "--format=tar", "--architectures=" + t.Arch,
		// Every package name the release has, real or virtual, from the
		// root's own apt lists before they are cleaned: what a package
		// built here must not be named (ReleaseNames).
		"--customize-hook=mkdir -p \"$1/" + releaseNamesDir + "\" && chroot \"$1\" apt-cache --all-names pkgnames >\"$1/" + releaseNamesFile + "\""}
	args = append(append(args, t.Release, tmpTar), lines...)
	fmt.Fprintf(log, "making the base build root %s\n", t)
	if err := execx.RunLogged(ctx, s.Runner, execx.Cmd{Args: args, Env: []string{"TMPDIR=" + dir}}, log); err != nil {
		os.Remove(tmpTar)
		if pkgs, lines := missingPackages(err); len(pkgs) > 0 {
			return &UnavailableError{Target: t, Packages: pkgs, AptSaid: lines, Err: err}
		}
		return fmt.Errorf("make build root %s: %w", t, err)
	}
	sum, err := hashFile(tmpTar)
	if err != nil {
		return err
	}
	m := meta{Release: t.Release, Arch: t.Arch, Sources: lines, TarSHA256: sum}
	if variant != "buildd" {
		m.Variant = variant
	}
	// The old tree goes first: a crash in between leaves no meta, so the
	// next run makes the root again rather than using a half-written one.
	for _, p := range []string{"meta.json", stampFile, "rootfs"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	if err := os.Rename(tmpTar, filepath.Join(dir, "root.tar")); err != nil {
		return err
	}
	if err := writeMeta(dir, m); err != nil {
		return err
	}
	writeStamp(dir, sum)
	return s.unpack(ctx, t, dir, m, log)
}

// unpack verifies the tarball against its recorded hash and unpacks it.
func (s *Store) unpack(ctx context.Context, t Target, dir string, m meta, log io.Writer) error {
	tarball := filepath.Join(dir, "root.tar")
	if err := s.verifyTar(t, dir, m); err != nil {
		return err
	}
	if geteuid() != 0 {
		return &NeedRootError{Target: t, Depends: m.Depends, Dir: s.Dir}
	}
	tmp := filepath.Join(dir, "rootfs.tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	cmd := execx.Cmd{Args: []string{"tar", "-xf", tarball, "-C", tmp, "--numeric-owner", "--xattrs", "--xattrs-include=*"}}
	if err := execx.RunLogged(ctx, s.Runner, cmd, log); err != nil {
		return fmt.Errorf("unpack build root %s: %w", t, err)
	}
	for _, p := range MountPoints {
		if err := os.MkdirAll(filepath.Join(tmp, p), 0o755); err != nil {
			return err
		}
	}
	return os.Rename(tmp, filepath.Join(dir, "rootfs"))
}

// ready loads dir's root when a build can use it as it is.
func (s *Store) ready(t Target, dir string) (*Root, error) {
	r, err := s.load(t, dir)
	if err == nil && r.Stale {
		return nil, errStale
	}
	return r, err
}

// load reads a made root; its package set comes from the tree itself.
func (s *Store) load(t Target, dir string) (*Root, error) {
	m, err := readMeta(dir)
	if err != nil {
		return nil, err
	}
	fsDir := filepath.Join(dir, "rootfs")
	r := &Root{Target: t, Depends: m.Depends, FS: fsDir, Tarball: filepath.Join(dir, "root.tar"), TarSHA256: m.TarSHA256, Variant: m.Variant}
	if len(m.Depends) > 0 {
		r.Base, r.Tarball, r.TarSHA256 = filepath.Join(s.dir(t, nil), "rootfs"), "", m.Base
		r.Stale = s.checkBase(t, m) != nil
	}
	pkgs, err := ReadPackages(fsDir)
	if err != nil {
		return nil, err
	}
	r.Packages = pkgs
	h := sha256.New()
	fmt.Fprintf(h, "target %s\n", t)
	for _, p := range pkgs {
		fmt.Fprintln(h, p)
	}
	r.Key = hex.EncodeToString(h.Sum(nil))[:32]
	return r, nil
}

// errStale is a root with build dependencies that is not derived from
// the target's current base root: made by an older debforge as a whole
// tree of its own, or derived from a base made again since.
var errStale = errors.New("not derived from the current base root")

// checkBase says whether a derived root's meta m matches t's base root.
func (s *Store) checkBase(t Target, m meta) error {
	if m.Base == "" {
		return errStale
	}
	bm, err := readMeta(s.dir(t, nil))
	if err != nil || bm.TarSHA256 != m.Base || !exists(filepath.Join(s.dir(t, nil), "rootfs")) {
		return errStale
	}
	return nil
}

// The file in each root that lists its release's package names.
const (
	releaseNamesDir  = "var/lib/debforge"
	releaseNamesFile = releaseNamesDir + "/release-names"
)

// ReleaseNames returns every package name, real or virtual, of the
// release (and architectures) the root was made from, as its apt knew
// them when it was made. A root made before debforge recorded them has
// none: ok is false.
func (r *Root) ReleaseNames() (names map[string]bool, ok bool) {
	data, err := os.ReadFile(filepath.Join(r.FS, releaseNamesFile))
	if err != nil {
		return nil, false
	}
	names = map[string]bool{}
	for _, n := range strings.Fields(string(data)) {
		names[n] = true
	}
	return names, true
}

// ReadPackages parses var/lib/dpkg/status of the tree at fsDir.
func ReadPackages(fsDir string) ([]Package, error) {
	f, err := os.Open(filepath.Join(fsDir, "var", "lib", "dpkg", "status"))
	if err != nil {
		return nil, fmt.Errorf("read package set of build root: %w", err)
	}
	defer f.Close()
	var pkgs []Package
	var cur Package
	var status string
	flush := func() {
		if cur.Name != "" && strings.HasSuffix(status, " installed") {
			pkgs = append(pkgs, cur)
		}
		cur, status = Package{}, ""
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		switch k {
		case "Package":
			cur.Name = v
		case "Architecture":
			cur.Arch = v
		case "Version":
			cur.Version = v
		case "Status":
			status = v
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(pkgs, func(i, j int) bool {
		return pkgs[i].Name < pkgs[j].Name || pkgs[i].Name == pkgs[j].Name && pkgs[i].Arch < pkgs[j].Arch
	})
	return pkgs, nil
}

func readMeta(dir string) (meta, error) {
	var m meta
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

func normDeps(deps []string) []string {
	out := slices.Clone(deps)
	sort.Strings(out)
	return slices.Compact(out)
}

// lockDir takes the lock of dir, the root of t with deps, waiting while
// another run holds it (and saying so in log), but only as long as ctx
// lives: a signal must end the wait at once, not after main's exit grace.
func lockDir(ctx context.Context, dir string, t Target, deps []string, log io.Writer) (func(), error) {
	return flockFile(ctx, filepath.Join(dir, ".lock"), syscall.LOCK_EX, func() {
		fmt.Fprintf(log, "waiting for another debforge run to finish making build root %s %v\n", t, deps)
	})
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Ready reports whether the root of t with deps is there to use.
func (s *Store) Ready(t Target, deps []string) bool {
	_, err := s.ready(t, s.dir(t, normDeps(deps)))
	return err == nil
}

// Acquire is Ensure for a build: it holds the root shared (its .use
// lock) until release, so that root update, which takes it exclusively
// before it removes rootfs/, waits for the builds that use the tree. The
// use lock is taken before the make lock (.lock), by both, so they never
// wait on each other in the opposite order.
func (s *Store) Acquire(ctx context.Context, t Target, deps []string, log io.Writer) (*Root, func(), error) {
	deps = normDeps(deps)
	release, err := flockFile(ctx, filepath.Join(s.dir(t, deps), ".use"), syscall.LOCK_SH, nil)
	if err != nil {
		if geteuid() == 0 {
			return nil, nil, err
		}
		// A user who can neither make nor open the lock in root's store
		// (a root made before debforge had it): unlocked, as before.
		release = func() {}
	}
	r, err := s.Ensure(ctx, t, deps, log)
	if err != nil {
		release()
		return nil, nil, err
	}
	return r, release, nil
}

// flockFile locks the file at p (made if needed) with how, saying so on
// waiting when it must wait and waiting is not nil; a signal (ctx) ends
// the wait for another run's lock at once.
func flockFile(ctx context.Context, p string, how int, waiting func()) (func(), error) {
	return filelock.Wait(ctx, p, how, "build root lock", waiting)
}
