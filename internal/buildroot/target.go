// Package buildroot makes, caches and keys the build roots debforge builds
// in: a minimal Debian root filesystem of the target release and
// architecture (mmdebstrap --variant=buildd), one per distinct set of
// build dependencies, kept as a tarball with a recorded sha256 and as an
// unpacked read-only tree that sandboxes bind as their "/".
//
// A root is identified by its target and requested packages; its cache key
// is the exact package set dpkg records inside it, read again on every use,
// so any change to a root (an upgrade, an added package) changes the key.
package buildroot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/debforge/debforge/internal/debian"
)

// Target is what a build produces packages for.
type Target struct {
	Release string // Debian codename: bookworm, trixie, ...
	Arch    string // Debian architecture: amd64, arm64, ...
}

func (t Target) String() string { return t.Release + "/" + t.Arch }

var releaseRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// DebootstrapScripts is where debootstrap keeps one script per release it
// knows; a release neither debforge nor it knows is refused before
// anything is made.
var DebootstrapScripts = "/usr/share/debootstrap/scripts"

// UnknownReleaseError is a target release neither debforge nor
// debootstrap knows.
type UnknownReleaseError struct{ Release string }

func (e *UnknownReleaseError) Error() string {
	return fmt.Sprintf("--target: unknown Debian release %q", e.Release)
}

// Hint names the fix.
func (e *UnknownReleaseError) Hint() string {
	return "use a codename debforge knows (" + strings.Join(debian.ReleaseNames(), ", ") + ") or debootstrap does (ls " + DebootstrapScripts + "), e.g. --target bookworm/amd64 or --target trixie/amd64"
}

// ParseTarget reads "RELEASE[/ARCH]"; empty parts default to this host's.
func ParseTarget(s, arch string) (Target, error) {
	rel, a, _ := strings.Cut(s, "/")
	if a == "" {
		a = arch
	}
	var err error
	if rel == "" {
		if rel, err = HostRelease(); err != nil {
			return Target{}, err
		}
	}
	if a == "" {
		if a, err = HostArch(); err != nil {
			return Target{}, err
		}
	}
	if arch != "" && a != arch {
		return Target{}, fmt.Errorf("--target %s and --arch %s disagree", s, arch)
	}
	if !releaseRe.MatchString(rel) {
		return Target{}, &UnknownReleaseError{Release: rel}
	}
	if !knownRelease(rel) {
		return Target{}, &UnknownReleaseError{Release: rel}
	}
	if !releaseRe.MatchString(a) {
		return Target{}, fmt.Errorf("--target %s: malformed architecture %q", s, a)
	}
	return Target{Release: rel, Arch: a}, nil
}

// knownRelease reports whether debforge knows rel (its release table)
// or this host's debootstrap has a script for it. mmdebstrap makes the
// roots and needs no debootstrap: a host with the debforge package
// alone has no scripts.
func knownRelease(rel string) bool {
	if _, ok := debian.Releases[rel]; ok {
		return true
	}
	_, err := os.Stat(filepath.Join(DebootstrapScripts, rel))
	return err == nil
}

// HostRelease is VERSION_CODENAME from /etc/os-release.
func HostRelease() (string, error) {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "", fmt.Errorf("find this host's release: %w (pass --target RELEASE/ARCH)", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VERSION_CODENAME="); ok && v != "" {
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", errors.New("find this host's release: no VERSION_CODENAME in /etc/os-release (pass --target RELEASE/ARCH)")
}

// HostArch is dpkg's architecture, or Go's mapped to Debian's name when
// dpkg is not there. It is asked once per process: a build asked dpkg
// eight times, a no-op build's largest cost after the sandbox check.
func HostArch() (string, error) { return hostArch() }

var hostArch = sync.OnceValues(askHostArch)

func askHostArch() (string, error) {
	if out, err := exec.Command("dpkg", "--print-architecture").Output(); err == nil {
		if a := strings.TrimSpace(string(out)); a != "" {
			return a, nil
		}
	}
	if a, ok := debian.ArchOfGo(runtime.GOARCH); ok {
		return a.Name, nil
	}
	return "", fmt.Errorf("no Debian architecture known for %s; pass --arch", runtime.GOARCH)
}
