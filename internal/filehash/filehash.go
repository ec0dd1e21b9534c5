// Package filehash is the one place files are hashed for pins, keys and
// checksums (sources, build roots, SBOMs), so they all agree on the form:
// lower-case hex SHA-256.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"syscall"
)

// SHA256 returns the hex SHA-256 of the file at path.
func SHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Identity names the file at path by what changes when its bytes are
// replaced: device, inode, size, modification time and status-change
// time. A cache of what was read from a file stays good while its
// identity does. The status-change time is what makes that safe: a
// writer can set the modification time back (touch -d), but not the
// ctime, which the kernel moves on every write and every utimes.
func Identity(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("%s: no inode information", path)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%d %d %d %d %d.%d", st.Dev, st.Ino, fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Sec, st.Ctim.Nsec))
	return hex.EncodeToString(sum[:16]), nil
}
