// Package toolchain fetches the Go toolchain pinned in debforge.yaml as the
// golang.org/toolchain module from the Go module proxy, verifies it against
// the pinned h1: hash and unpacks it, executable, for a sandbox to bind
// read-only at /usr/local/go. Builds then use neither the host's Go nor
// Debian's (too old for this stack).
package toolchain

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/execx"
	"github.com/debforge/debforge/internal/filehash"
	"github.com/debforge/debforge/internal/source"
)

// Toolchain is an unpacked, verified Go toolchain.
type Toolchain struct {
	Version string // "1.26.8"
	GOARCH  string
	Sum     string // the verified h1: hash of the module zip
	// GOROOT is the unpacked tree (bin/go, pkg/tool, src, ...).
	GOROOT string
}

// Module is the module path and version serving Go version v for goarch.
func Module(v, goarch string) string {
	return "golang.org/toolchain@v0.0.1-go" + v + ".linux-" + goarch
}

// MismatchError is a toolchain zip that fails its pinned hash.
type MismatchError struct{ Module, Want, Got string }

func (e *MismatchError) Error() string {
	return fmt.Sprintf("go toolchain %s: hash mismatch: debforge.yaml pins %s, the Go module proxy served %s", e.Module, e.Want, e.Got)
}

// Hint names the fix.
func (e *MismatchError) Hint() string {
	return "check go_toolchain.sums in debforge.yaml against 'go mod download -json " + e.Module + "' (Sum)"
}

// Ensure returns the toolchain version v for goarch under dir, fetching
// and verifying it against sum first when it is not there yet.
func Ensure(ctx context.Context, r execx.Runner, dir, v, goarch, sum string, log io.Writer) (*Toolchain, error) {
	mod := Module(v, goarch)
	tc := &Toolchain{Version: v, GOARCH: goarch, Sum: sum, GOROOT: filepath.Join(dir, "go"+v+".linux-"+goarch)}
	stamp := filepath.Join(tc.GOROOT, ".debforge-sum")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == sum {
		return tc, nil
	}
	modcache := filepath.Join(dir, "modcache")
	_, ver, _ := strings.Cut(mod, "@")
	zipPath := filepath.Join(modcache, "cache", "download", "golang.org", "toolchain", "@v", ver+".zip")
	if _, err := os.Stat(zipPath); err != nil {
		if err := os.MkdirAll(modcache, 0o755); err != nil {
			return nil, err
		}
		// The pinned hash verifies the zip, so the checksum database is
		// not needed (nor always reachable).
		cmd := execx.Cmd{Args: []string{"go", "mod", "download", "-json", mod}, Dir: dir, Env: []string{
			"GOMODCACHE=" + modcache, "GOFLAGS=-mod=mod -modcacherw", "GONOSUMDB=golang.org/toolchain", "GOTOOLCHAIN=local", "GOWORK=off"}}
		if err := execx.RunLogged(ctx, r, cmd, log); err != nil {
			return nil, &source.UnreachableError{Component: "go toolchain", URL: mod + " (Go module proxy)", Err: err}
		}
		// go mod download also unpacked it; only the verified zip is kept.
		os.RemoveAll(filepath.Join(modcache, "golang.org", "toolchain@"+ver))
	}
	got, err := source.HashZip(zipPath)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", zipPath, err)
	}
	if got != sum {
		// Not kept: a zip damaged in the cache, or served wrong once,
		// would otherwise fail every later run without a fetch.
		os.Remove(zipPath)
		os.Remove(strings.TrimSuffix(zipPath, ".zip") + ".ziphash")
		return nil, &MismatchError{Module: mod, Want: sum, Got: got}
	}
	tmp := tc.GOROOT + ".tmp"
	os.RemoveAll(tmp)
	if err := unzip(zipPath, mod+"/", tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("unpack %s: %w", mod, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".debforge-sum"), []byte(sum), 0o644); err != nil {
		return nil, err
	}
	os.RemoveAll(tc.GOROOT)
	if err := os.Rename(tmp, tc.GOROOT); err != nil {
		return nil, err
	}
	return tc, nil
}

// unzip extracts the entries under prefix into dst. Module zips carry no
// modes: bin/* and pkg/tool/*/* become executable, as the go command does
// when it switches toolchains; everything is readable by all (the build
// uid included).
func unzip(zipPath, prefix, dst string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		rel, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || rel == "" || strings.HasSuffix(rel, "/") {
			continue
		}
		clean := path.Clean(rel)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("entry %q leaves the toolchain tree", f.Name)
		}
		mode := os.FileMode(0o644)
		if dir := path.Dir(clean); dir == "bin" || path.Dir(dir) == "pkg/tool" {
			mode = 0o755
		}
		if err := writeEntry(f, filepath.Join(dst, filepath.FromSlash(clean)), mode); err != nil {
			return err
		}
	}
	return nil
}

func writeEntry(f *zip.File, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Tarball returns goroot packed as one tar beside it (GOROOT.tar) and
// that tar's sha256, making them the first time: a BuildKit worker is
// sent the toolchain as a blob it asks for by hash, and only when its
// cache lacks the unpacked tree, instead of 250 MB of files it must
// receive to checksum on every build. The tar is bound to the unpacked
// toolchain's verified hash (its .debforge-sum stamp): a toolchain
// unpacked anew is packed anew.
func Tarball(ctx context.Context, r execx.Runner, goroot string, log io.Writer) (tarPath, sha string, err error) {
	stamp, err := os.ReadFile(filepath.Join(goroot, ".debforge-sum"))
	if err != nil {
		return "", "", fmt.Errorf("toolchain %s: not unpacked by debforge: %w", goroot, err)
	}
	tarPath, metaPath := goroot+".tar", goroot+".tar.sum"
	// The meta file is written last: "STAMP SHA256".
	if m, err := os.ReadFile(metaPath); err == nil {
		if s, h, ok := strings.Cut(strings.TrimSpace(string(m)), " "); ok && s == string(stamp) {
			if _, err := os.Stat(tarPath); err == nil {
				return tarPath, h, nil
			}
		}
	}
	// Another build may pack the same toolchain at once: each writes its
	// own temporary file, and the renames put identical bytes in place.
	tmp, err := os.CreateTemp(filepath.Dir(goroot), filepath.Base(tarPath)+".tmp-*")
	if err != nil {
		return "", "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // as readable as the tree it packs
		return "", "", err
	}
	cmd := execx.Cmd{Args: []string{"tar", "-C", goroot, "--sort=name", "--numeric-owner", "-cf", tmp.Name(), "."}}
	if err := execx.RunLogged(ctx, r, cmd, log); err != nil {
		return "", "", fmt.Errorf("pack toolchain %s: %w", goroot, err)
	}
	if sha, err = filehash.SHA256(tmp.Name()); err != nil {
		return "", "", fmt.Errorf("hash %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), tarPath); err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(metaPath, []byte(string(stamp)+" "+sha+"\n"), 0o644); err != nil {
		return "", "", fmt.Errorf("record toolchain tarball %s: %w", metaPath, err)
	}
	return tarPath, sha, nil
}
