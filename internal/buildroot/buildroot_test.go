package buildroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/testutil"
)

func TestReadPackagesOnlyInstalled(t *testing.T) {
	fs := t.TempDir()
	testutil.Must(t, os.MkdirAll(filepath.Join(fs, "var/lib/dpkg"), 0o755))
	status := "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\nDescription: x\n more\n\n" +
		"Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n\n" +
		"Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4\n"
	testutil.Must(t, os.WriteFile(filepath.Join(fs, "var/lib/dpkg/status"), []byte(status), 0o644))
	pkgs, err := ReadPackages(fs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "base-files:amd64=12.4 libc6:amd64=2.36-9" {
		t.Errorf("packages = %v", got)
	}
}

func TestSourcesParsing(t *testing.T) {
	deb822 := "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
		"Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n" +
		"Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n"
	got := parseDeb822Sources(deb822)
	if len(got) != 2 || got[0] != (aptEntry{"http://mirror.example/debian", "bookworm"}) || got[1].suite != "bookworm-updates" {
		t.Errorf("deb822 = %v", got)
	}
	one := parseOneLine("# c\ndeb [signed-by=/k.gpg arch=amd64] http://m.example/debian bookworm main\ndeb-src http://x bookworm main\n")
	if len(one) != 1 || one[0] != (aptEntry{"http://m.example/debian", "bookworm"}) {
		t.Errorf("one-line = %v", one)
	}
}

func TestParseTarget(t *testing.T) {
	if _, err := ParseTarget("nosuchrelease/amd64", ""); err == nil || !strings.Contains(err.Error(), "unknown Debian release") {
		t.Errorf("unknown release: %v", err)
	}
	if _, err := ParseTarget("../etc/amd64", ""); err == nil {
		t.Error("a path as release was accepted")
	}
	// A release debforge knows needs no debootstrap: a host with the
	// debforge package alone has none (mmdebstrap makes the roots).
	old := DebootstrapScripts
	DebootstrapScripts = t.TempDir()
	defer func() { DebootstrapScripts = old }()
	tg, err := ParseTarget("bookworm/arm64", "")
	if err != nil || tg.String() != "bookworm/arm64" {
		t.Errorf("bookworm/arm64 without debootstrap = %v %v", tg, err)
	}
	if _, err := ParseTarget("bookworm/arm64", "amd64"); err == nil {
		t.Error("--target and --arch disagreeing was accepted")
	}
	// One debforge does not know is taken where debootstrap has a script.
	testutil.Must(t, os.WriteFile(filepath.Join(DebootstrapScripts, "sid"), nil, 0o644))
	if _, err := ParseTarget("sid/amd64", ""); err != nil {
		t.Errorf("sid with a debootstrap script: %v", err)
	}
}

// apt's words for a package it cannot install (as mmdebstrap prints them)
// become an UnavailableError naming the package; other failures do not.
func TestMissingPackages(t *testing.T) {
	tail := "I: running apt-get update...\nE: Unable to locate package libipt-dev:arm64\n" +
		"E: Package 'gcc-aarch64-linux-gnu' has no installation candidate\n" +
		"E: setup failed: E: apt-get ... install gcc-aarch64-linux-gnu libipt-dev:arm64 failed\nE: mmdebstrap failed to run"
	err := &execx.CommandError{Cmd: execx.Cmd{Args: []string{"mmdebstrap"}}, Tail: tail, Err: errors.New("exit status 25")}
	pkgs, lines := missingPackages(fmt.Errorf("wrapped: %w", err))
	if strings.Join(pkgs, " ") != "libipt-dev:arm64 gcc-aarch64-linux-gnu" || len(lines) != 2 || lines[0] != "E: Unable to locate package libipt-dev:arm64" {
		t.Errorf("missingPackages = %q %q", pkgs, lines)
	}
	if pkgs, _ := missingPackages(&execx.CommandError{Tail: "E: Failed to fetch http://x/Release 404"}); pkgs != nil {
		t.Errorf("a fetch failure named packages: %v", pkgs)
	}
	u := &UnavailableError{Target: Target{Release: "bookworm", Arch: "amd64"}, Packages: pkgs, AptSaid: lines}
	u.Packages, u.AptSaid = []string{"libipt-dev:arm64"}, lines[:1]
	if got := u.Error(); got != "build root bookworm/amd64: cannot install libipt-dev:arm64 from the mirror (E: Unable to locate package libipt-dev:arm64)" {
		t.Errorf("Error() = %q", got)
	}
	if !strings.Contains(u.Hint(), "architectures:") {
		t.Errorf("Hint() = %q", u.Hint())
	}
}

// Issue 13 item 5: a release's own mirror (releases: {noble: {mirror:
// …}}) is the one its roots are made from; other releases keep the
// repository-wide mirror.
func TestReleaseMirrorReachesMmdebstrap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a root needs root; CI runs as root")
	}
	fake := &execx.Fake{Fail: func(execx.Cmd) error { return errors.New("stop here") }}
	s := &Store{Dir: t.TempDir(), Mirror: "http://deb.example/debian",
		ReleaseMirrors: map[string]string{"noble": "http://archive.example/ubuntu"}, Runner: fake}
	for _, rel := range []string{"noble", "bookworm"} {
		s.Ensure(context.Background(), Target{Release: rel, Arch: "amd64"}, []string{"gcc"}, io.Discard)
	}
	if len(fake.Cmds) != 2 {
		t.Fatalf("ran %d commands, want 2 mmdebstrap runs", len(fake.Cmds))
	}
	for i, want := range []string{"deb http://archive.example/ubuntu noble main", "deb http://deb.example/debian bookworm main"} {
		args := fake.Cmds[i].Args
		if args[0] != "mmdebstrap" || !slices.Contains(args, want) {
			t.Errorf("run %d: %q lacks %q", i, args, want)
		}
	}
}

// asUser makes the store act as a non-root user's for the test.
func asUser(t *testing.T) {
	t.Helper()
	old := geteuid
	geteuid = func() int { return 1000 }
	t.Cleanup(func() { geteuid = old })
}

// A non-root user whose build needs a root not made yet gets ErrNeedRoot
// with the command that makes it, as root, in the store this user reads
// (root's default store is elsewhere), and nothing is run.
func TestNeedRootHint(t *testing.T) {
	asUser(t)
	fake := &execx.Fake{}
	s := &Store{Dir: t.TempDir(), Runner: fake}
	bw := Target{Release: "bookworm", Arch: "amd64"}
	_, err := s.Ensure(context.Background(), bw, nil, io.Discard)
	var ne *NeedRootError
	if !errors.Is(err, ErrNeedRoot) || !errors.As(err, &ne) {
		t.Fatalf("base root: %v, want ErrNeedRoot", err)
	}
	if want := "make it once as root, in this store: sudo debforge --roots-dir " + s.Dir + " root update bookworm/amd64"; ne.Hint() != want {
		t.Errorf("hint %q, want %q", ne.Hint(), want)
	}
	if !strings.Contains(err.Error(), "build root bookworm/amd64: the base root is not made yet in "+s.Dir) {
		t.Errorf("error %q does not say which root, where", err)
	}
	_, err = s.Ensure(context.Background(), bw, []string{"make", "gcc"}, io.Discard)
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "build_depends [gcc make]") ||
		!strings.Contains(ne.Hint(), "run this build as root with --roots-dir "+s.Dir) {
		t.Errorf("deps root: %v (hint %q)", err, ne.Hint())
	}
	if len(fake.Cmds) > 0 {
		t.Errorf("ran %v", fake.Cmds)
	}
}

// fakeMmdebstrap stands in for mmdebstrap, tar and the sandboxed apt
// that derives roots: the "tarball" holds *version; unpacking it writes a
// dpkg status with dpkg at that version, and deriving adds the build
// dependencies at *version.
func fakeMmdebstrap(version *string) *execx.Fake {
	return &execx.Fake{Fail: func(c execx.Cmd) error {
		switch c.Args[0] {
		case "mmdebstrap":
			include := ""
			for _, a := range c.Args {
				if v, ok := strings.CutPrefix(a, "--include="); ok {
					include = v
				}
			}
			tarball := c.Args[slices.IndexFunc(c.Args, func(a string) bool { return strings.HasSuffix(a, "root.tar.tmp") })]
			return os.WriteFile(tarball, []byte(*version+" "+include), 0o644)
		case "tar":
			if c.Args[1] != "-xf" { // packing a layer: for real
				return exec.Command(c.Args[0], c.Args[1:]...).Run()
			}
			data, err := os.ReadFile(c.Args[2])
			if err != nil {
				return err
			}
			v, include, _ := strings.Cut(string(data), " ")
			var status strings.Builder
			for _, p := range append([]string{"dpkg"}, strings.FieldsFunc(include, func(r rune) bool { return r == ',' })...) {
				fmt.Fprintf(&status, "Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n\n", p, v)
			}
			dir := filepath.Join(c.Args[4], "var", "lib", "dpkg")
			if err := os.MkdirAll(filepath.Join(c.Args[4], "usr", "sbin"), 0o755); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "status"), []byte(status.String()), 0o644)
		case "cp", "rm": // copying the base tree for a derived root: for real
			return exec.Command(c.Args[0], c.Args[1:]...).Run()
		case "bwrap": // installing a derived root's build dependencies
			tree := c.Args[slices.Index(c.Args, "--bind")+1]
			f, err := os.OpenFile(filepath.Join(tree, "var", "lib", "dpkg", "status"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			for _, p := range c.Args[slices.Index(c.Args, "derive-root")+1:] {
				fmt.Fprintf(f, "Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n\n", p, *version)
			}
			return nil
		}
		return fmt.Errorf("unexpected %v", c.Args)
	}}
}

// rootStore is a store in a temporary directory that makes its roots
// with fakeMmdebstrap at *version, as root would.
func rootStore(t *testing.T, version *string) (*Store, *execx.Fake) {
	t.Helper()
	old := geteuid
	geteuid = func() int { return 0 }
	t.Cleanup(func() { geteuid = old })
	fake := fakeMmdebstrap(version)
	return &Store{Dir: t.TempDir(), Mirror: "http://mirror.example/debian", Runner: fake}, fake
}

// root update makes the base root and every root of the target made
// before afresh, each with its build dependencies, records the new
// tarball's hash, and the keys follow the new package sets; root list
// then shows each root once, with its dependencies.
func TestUpdateRemakesEveryRootOfTarget(t *testing.T) {
	version := "1.0"
	s, fake := rootStore(t, &version)
	bw := Target{Release: "bookworm", Arch: "amd64"}
	ctx := context.Background()
	before, err := s.Ensure(ctx, bw, []string{"make", "gcc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ensure(ctx, Target{Release: "trixie", Arch: "amd64"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	fake.Cmds = nil
	version = "2.0" // the mirror moved on
	roots, err := s.Update(ctx, bw, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, c := range fake.Cmds {
		switch c.Args[0] {
		case "mmdebstrap":
			runs = append(runs, "mmdebstrap "+c.Args[len(c.Args)-4])
		case "bwrap":
			runs = append(runs, "derive "+strings.Join(c.Args[slices.Index(c.Args, "derive-root")+1:], ","))
		}
	}
	if want := []string{"mmdebstrap bookworm", "derive gcc,make"}; !slices.Equal(runs, want) {
		t.Errorf("runs %q, want %q: the base bootstrapped, the [gcc make] root derived from it", runs, want)
	}
	if len(roots) != 2 || roots[0].Depends != nil || !slices.Equal(roots[1].Depends, []string{"gcc", "make"}) {
		t.Fatalf("updated roots: %+v", roots)
	}
	base, gcc := roots[0], roots[1]
	if gcc.Key == before.Key || gcc.FS != before.FS {
		t.Errorf("[gcc make] root: key %s (was %s), FS %s (was %s): want a new key in the same place", gcc.Key, before.Key, gcc.FS, before.FS)
	}
	if want := []Package{{"dpkg", "amd64", "2.0"}, {"gcc", "amd64", "2.0"}, {"make", "amd64", "2.0"}}; !slices.Equal(gcc.Packages, want) {
		t.Errorf("packages %v, want %v", gcc.Packages, want)
	}
	if m, err := readMeta(filepath.Dir(gcc.FS)); err != nil || m.Base != base.TarSHA256 || gcc.TarSHA256 != base.TarSHA256 || gcc.Base != base.FS || m.Base == before.TarSHA256 {
		t.Errorf("meta.json: %+v, %v: want it derived from the new base tarball %s", m, err, base.TarSHA256)
	}
	listed, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range listed {
		got = append(got, fmt.Sprintf("%s %v %d", r.Target, r.Depends, len(r.Packages)))
	}
	slices.Sort(got)
	if want := []string{"bookworm/amd64 [] 1", "bookworm/amd64 [gcc make] 3", "trixie/amd64 [] 1"}; !slices.Equal(got, want) {
		t.Errorf("List: %q, want %q", got, want)
	}
}

// A store of clean test roots refreshes its base (and a build store
// updating the same target leaves it alone); a target it never made
// stays unmade.
func TestUpdateBaseRemakesTheCleanRoot(t *testing.T) {
	version := "1.0"
	s, fake := rootStore(t, &version)
	s.Variant = "apt"
	bw := Target{Release: "bookworm", Arch: "amd64"}
	ctx := context.Background()
	before, err := s.Ensure(ctx, bw, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	build := &Store{Dir: s.Dir, Mirror: s.Mirror, Runner: fake}
	if _, err := build.Update(ctx, bw, io.Discard); err != nil {
		t.Fatal(err)
	}
	if again, err := s.Ensure(ctx, bw, nil, io.Discard); err != nil || again.Key != before.Key {
		t.Fatalf("the build store's update changed the clean root: %v %v", again, err)
	}
	version = "2.0"
	after, err := s.UpdateBase(ctx, bw, io.Discard)
	if err != nil || after == nil || after.Key == before.Key || after.FS != before.FS || !strings.HasSuffix(filepath.Dir(after.FS), "base-apt") {
		t.Fatalf("UpdateBase = %+v, %v: want the clean root made afresh in its place", after, err)
	}
	if r, err := s.UpdateBase(ctx, Target{Release: "trixie", Arch: "amd64"}, io.Discard); r != nil || err != nil {
		t.Errorf("UpdateBase of a target with no clean root made %+v, %v", r, err)
	}
}

// Verify hashes a made root's tarball once, then only when the file
// changed since (its stamp no longer matches), and refuses a damaged or
// missing one with the fix.
func TestVerifyHashesOnlyAChangedTarball(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	tg := Target{Release: "bookworm", Arch: "amd64"}
	calls := 0
	defer func(h func(string) (string, error)) { hashFile = h }(hashFile)
	real := hashFile
	hashFile = func(p string) (string, error) { calls++; return real(p) }

	if err := s.Verify(tg, []string{"make"}); err != nil || calls != 0 {
		t.Fatalf("a root not made yet: %v (%d hashes), want nil and none", err, calls)
	}
	dir := s.dir(tg, nil)
	testutil.Must(t, os.MkdirAll(dir, 0o755))
	tarball := filepath.Join(dir, "root.tar")
	testutil.Must(t, os.WriteFile(tarball, []byte("a root tarball"), 0o644))
	sum, _ := real(tarball)
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "meta.json"), []byte(`{"release":"bookworm","arch":"amd64","tar_sha256":"`+sum+`"}`), 0o644))

	for i := 0; i < 3; i++ {
		if err := s.Verify(tg, nil); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if calls != 1 {
		t.Errorf("3 runs hashed the unchanged tarball %d times, want 1", calls)
	}

	// Same size, mtime put back: only the ctime (and the bytes) differ.
	fi, _ := os.Stat(tarball)
	testutil.Must(t, os.WriteFile(tarball, []byte("a root tarbalL"), 0o644))
	os.Chtimes(tarball, fi.ModTime(), fi.ModTime())
	err := s.Verify(tg, nil)
	var he *HashError
	if !errors.As(err, &he) || he.Want != sum || he.Got == sum {
		t.Fatalf("damaged tarball: %v, want a HashError", err)
	}
	if !strings.Contains(err.Error(), tarball+" fails its recorded sha256") ||
		he.Hint() != "the cached root is damaged or was altered; make it again with: debforge root update bookworm/amd64" {
		t.Errorf("message %q, hint %q", err, he.Hint())
	}
	if err := s.Verify(tg, nil); !errors.As(err, &he) {
		t.Errorf("second run after the damage: %v, want the HashError again", err)
	}
	if calls != 3 {
		t.Errorf("%d hashes, want 3: a damaged tarball is hashed on every run", calls)
	}

	os.Remove(tarball)
	if err := s.Verify(tg, nil); !errors.As(err, &he) || !strings.Contains(err.Error(), "root.tar is missing") {
		t.Errorf("missing tarball: %v", err)
	}
}

// A build holds its root shared for as long as it runs: root update
// waits for it before it removes and remakes the tree, and a build that
// starts while an update runs gets the new root.
func TestUpdateWaitsForBuildsUsingTheRoot(t *testing.T) {
	version := "1.0"
	s, _ := rootStore(t, &version)
	bw := Target{Release: "bookworm", Arch: "amd64"}
	ctx := context.Background()
	r, release, err := s.Acquire(ctx, bw, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	version = "2.0"
	done := make(chan error, 1)
	go func() {
		_, err := s.Update(ctx, bw, io.Discard)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("update finished while a build used the root: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if pkgs, err := ReadPackages(r.FS); err != nil || len(pkgs) != 1 || pkgs[0].Version != "1.0" {
		t.Fatalf("the build's root changed under it: %v, %v", pkgs, err)
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("update still waits after the build released the root")
	}
	r2, release2, err := s.Acquire(ctx, bw, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if r2.Packages[0].Version != "2.0" {
		t.Errorf("after the update: %v, want the new root", r2.Packages)
	}
}

// Issue 9 item 10 (exit within 2 s of a signal): a build or 'root update'
// waiting for another run's build root lock ignored the signal, and only
// main's 10 s exit grace ended it. The wait now ends with the context.
func TestSignalEndsWaitForRootLock(t *testing.T) {
	bw := Target{Release: "bookworm", Arch: "amd64"}
	for name, call := range map[string]func(ctx context.Context, s *Store, log io.Writer) error{
		"Ensure": func(ctx context.Context, s *Store, log io.Writer) error {
			_, err := s.Ensure(ctx, bw, nil, log)
			return err
		},
		"Update": func(ctx context.Context, s *Store, log io.Writer) error { _, err := s.Update(ctx, bw, log); return err },
	} {
		t.Run(name, func(t *testing.T) {
			s := &Store{Dir: t.TempDir(), Runner: fakeMmdebstrap(new(string))}
			dir := s.dir(bw, nil)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			held, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close() // releases the lock: a wait that ignored ctx ends then
			if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			waiting := &saysWaiting{said: make(chan struct{})}
			go func() { done <- call(ctx, s, waiting) }()
			select {
			case <-waiting.said:
			case <-time.After(10 * time.Second):
				t.Fatal("the call never said it waits for the lock")
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "wait for the build root lock "+filepath.Join(dir, ".lock")) {
					t.Errorf("err = %v, want the cancelled wait for the lock", err)
				}
				t.Logf("%v", err)
			case <-time.After(3 * time.Second):
				t.Fatal("still waiting for the lock 3 s after the context was cancelled")
			}
		})
	}
}

// A root with build dependencies is derived from the base: its files are
// the base's own (hard links) where installing left them alone, and it
// is made again when the base is.
func TestDerivedRootSharesTheBaseFiles(t *testing.T) {
	version := "1.0"
	s, _, base := madeBase(t, &version, "tool")
	bw := Target{Release: "bookworm", Arch: "amd64"}
	ctx := context.Background()
	r, err := s.Ensure(ctx, bw, []string{"gcc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(base.FS, "usr", "sbin", "tool"))
	b, err := os.Stat(filepath.Join(r.FS, "usr", "sbin", "tool"))
	if err != nil || !os.SameFile(a, b) {
		t.Errorf("the derived root's usr/sbin/tool is not the base's file: %v", err)
	}
	if exists(filepath.Join(r.FS, policyRcD)) {
		t.Error("policy-rc.d left in the derived root")
	}
	d1, _ := os.Stat(filepath.Join(base.FS, "var", "lib", "dpkg", "status"))
	d2, _ := os.Stat(filepath.Join(r.FS, "var", "lib", "dpkg", "status"))
	if os.SameFile(d1, d2) {
		t.Error("the dpkg database is shared with the base; it must be a copy")
	}
	// A base made again (here: its tarball replaced by hand) leaves the
	// derived root stale: the next use derives it again.
	version = "2.0"
	os.RemoveAll(base.FS)
	os.Remove(filepath.Join(filepath.Dir(base.FS), "meta.json"))
	if _, err := s.Ensure(ctx, bw, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	r2, err := s.Ensure(ctx, bw, []string{"gcc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Key == r.Key || r2.Packages[0].Version != "2.0" {
		t.Errorf("after the base was made again: %v, want the root derived from the new base", r2.Packages)
	}
}

// A root made by an older debforge as a whole tree and tarball of its
// own is derived again from the base, and its tarball removed.
func TestWholeRootOfOlderDebforgeIsDerivedAgain(t *testing.T) {
	version := "1.0"
	s, _ := rootStore(t, &version)
	bw := Target{Release: "bookworm", Arch: "amd64"}
	ctx := context.Background()
	dir := s.dir(bw, []string{"gcc"})
	testutil.Must(t, os.MkdirAll(filepath.Join(dir, "rootfs", "var", "lib", "dpkg"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "rootfs", "var", "lib", "dpkg", "status"), []byte("Package: old\nStatus: install ok installed\nVersion: 0\n\n"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "root.tar"), []byte("old"), 0o644))
	testutil.Must(t, os.WriteFile(filepath.Join(dir, "meta.json"), []byte(`{"release":"bookworm","arch":"amd64","depends":["gcc"],"tar_sha256":"00"}`), 0o644))
	r, err := s.Ensure(ctx, bw, []string{"gcc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Base == "" || len(r.Packages) != 2 || exists(filepath.Join(dir, "root.tar")) {
		t.Errorf("root %+v (root.tar left: %v): want it derived from the base", r, exists(filepath.Join(dir, "root.tar")))
	}
}

// Installing build dependencies must never write into a file the derived
// root shares with the base: a maintainer script that appends to one is
// caught, the derivation fails naming the file, and no root is recorded.
func TestDerivationThatWritesIntoTheBaseFails(t *testing.T) {
	version := "1.0"
	s, fake, _ := madeBase(t, &version, "tool")
	bw := Target{Release: "bookworm", Arch: "amd64"}
	ctx := context.Background()
	onInstall(fake, func(tree string) { // a script that appends, as >> does
		f, err := os.OpenFile(filepath.Join(tree, "usr", "sbin", "tool"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString(" changed")
		f.Close()
	})
	_, err := s.Ensure(ctx, bw, []string{"gcc"}, io.Discard)
	var bc *BaseChangedError
	if !errors.As(err, &bc) || !slices.Equal(bc.Files, []string{"/usr/sbin/tool"}) || !strings.Contains(bc.Hint(), "debforge root update bookworm/amd64") {
		t.Fatalf("err %v, want a BaseChangedError naming /usr/sbin/tool", err)
	}
	if s.Ready(bw, []string{"gcc"}) {
		t.Error("the failed derivation left a root to use")
	}
}

// A derived root's layer holds what derivation added or replaced (never
// the base's own files, which a worker has from the base tarball) and
// lists the base's paths the root lacks; it is packed once.
func TestLayerHoldsOnlyWhatDerivationChanged(t *testing.T) {
	version := "1.0"
	s, fake, base := madeBase(t, &version, "kept", "replaced", "removed")
	bw := Target{Release: "bookworm", Arch: "amd64"}
	ctx := context.Background()
	onInstall(fake, func(tree string) { // dpkg replaces one file and removes another
		os.Remove(filepath.Join(tree, "usr/sbin/replaced"))
		testutil.Must(t, os.WriteFile(filepath.Join(tree, "usr/sbin/replaced"), []byte("new"), 0o755))
		os.Remove(filepath.Join(tree, "usr/sbin/removed"))
	})
	r, err := s.Ensure(ctx, bw, []string{"gcc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := s.Layer(ctx, base, io.Discard); l != nil || err != nil {
		t.Errorf("a base root's layer: %v, %v; want none", l, err)
	}
	l, err := s.Layer(ctx, r, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tar", "-tf", l.Tar).Output()
	if err != nil {
		t.Fatal(err)
	}
	listed := strings.Fields(string(out))
	for _, want := range []string{"./usr/sbin/replaced", "./var/lib/dpkg/status", "./usr/sbin/"} {
		if !slices.Contains(listed, want) {
			t.Errorf("layer lacks %s: %q", want, listed)
		}
	}
	if slices.Contains(listed, "./usr/sbin/kept") {
		t.Errorf("the layer holds the base's own file usr/sbin/kept: %q", listed)
	}
	if !slices.Equal(l.Deleted, []string{"/usr/sbin/removed"}) {
		t.Errorf("deleted %q, want /usr/sbin/removed", l.Deleted)
	}
	if sum, _ := hashFile(l.Tar); sum != l.SHA256 {
		t.Errorf("layer sha256 %s, file has %s", l.SHA256, sum)
	}
	fake.Cmds = nil
	again, err := s.Layer(ctx, r, io.Discard)
	if err != nil || again.SHA256 != l.SHA256 || !slices.Equal(again.Deleted, l.Deleted) || len(fake.Cmds) != 0 {
		t.Errorf("second Layer: %+v, %v, ran %d commands: want the packed layer again", again, err, len(fake.Cmds))
	}
}

// madeBase is a store (rootStore, at *version) with the bookworm/amd64
// base root made and files written into its usr/sbin.
func madeBase(t *testing.T, version *string, files ...string) (*Store, *execx.Fake, *Root) {
	t.Helper()
	s, fake := rootStore(t, version)
	base, err := s.Ensure(context.Background(), Target{Release: "bookworm", Arch: "amd64"}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(base.FS, "usr", "sbin", f), []byte("base"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return s, fake, base
}

// onInstall runs change on the tree being derived just before the fake
// apt installs the build dependencies into it, as a maintainer script
// would.
func onInstall(fake *execx.Fake, change func(tree string)) {
	install := fake.Fail
	fake.Fail = func(c execx.Cmd) error {
		if c.Args[0] == "bwrap" {
			change(c.Args[slices.Index(c.Args, "--bind")+1])
		}
		return install(c)
	}
}

// saysWaiting closes said on the first line that says a call waits.
type saysWaiting struct {
	once sync.Once
	said chan struct{}
}

func (w *saysWaiting) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "waiting for another debforge run") {
		w.once.Do(func() { close(w.said) })
	}
	return len(p), nil
}
