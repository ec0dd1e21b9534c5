package aptrepo

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxNameLen is the longest file name Linux allows; a longer path element
// cannot name a file, and must get 404, not the 500 of ENAMETOOLONG.
const (
	maxNameLen = 255
	maxPathLen = 4096
)

// servable reports whether the URL path names something publish wrote and
// a client may read. It refuses:
//   - any element starting with '.': .snapshots (reachable only through
//     dists/<codename>), atomicfile's .tmp-* files, dotfiles an admin left;
//   - elements over 255 bytes, paths of 4096 or more (PATH_MAX);
//   - anything that resolves (through symlinks) outside the repository;
//   - directories without an index.html: no listings of what publish did
//     not mean to show;
//   - a file that holds a private key, wherever it is (debforge refuses a
//     signing key under --out; this covers a key copied there by hand).
func servable(dir, urlPath string) bool {
	clean := path.Clean("/" + urlPath)
	if len(clean) >= maxPathLen {
		return false
	}
	for _, el := range strings.Split(clean, "/") {
		if strings.HasPrefix(el, ".") || len(el) > maxNameLen {
			return false
		}
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(clean)))
	if err != nil {
		// Missing files get FileServer's own 404.
		return os.IsNotExist(err)
	}
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return false
	}
	st, err := os.Stat(real)
	if err != nil {
		return false
	}
	if st.IsDir() {
		_, err := os.Stat(filepath.Join(real, PageFile))
		return err == nil
	}
	return st.Mode().IsRegular() && !holdsPrivateKey(real)
}

// holdsPrivateKey sniffs the start of a file for an armored or binary
// OpenPGP secret key, or a PEM private key.
func holdsPrivateKey(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return true
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	head = head[:n]
	if n == 0 {
		return false
	}
	if bytes.Contains(head, []byte("PRIVATE KEY")) {
		return true
	}
	// Binary OpenPGP: the first packet's tag, old or new format; 5 is a
	// secret key, 7 a secret subkey.
	b := head[0]
	if b&0x80 == 0 {
		return false
	}
	tag := b & 0x3f
	if b&0x40 == 0 {
		tag = (b & 0x3c) >> 2
	}
	return tag == 5 || tag == 7
}
