package aptrepo

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Cache lifetimes. Pool files and by-hash copies never change under their
// name (AddToPool refuses a changed .deb), so clients may keep them for a
// year. Everything else (Release/InRelease/Packages, the front page, keys
// and the .sources file) changes on publish under the same name: clients
// must revalidate, which the ETag makes a 304 when nothing changed.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// cachePolicy returns the Cache-Control value for a URL path.
func cachePolicy(urlPath string) string {
	p := path.Clean("/" + urlPath)
	if strings.HasPrefix(p, "/pool/") || strings.Contains(p, "/by-hash/") {
		return cacheImmutable
	}
	return cacheRevalidate
}

// setCacheHeaders sets Cache-Control and, for an existing file, a strong
// ETag from its inode, size and mtime (a publish writes new files, so any
// change gives a new tag). http.FileServer then answers If-None-Match and
// If-Modified-Since with 304 and sets Last-Modified itself.
func setCacheHeaders(w http.ResponseWriter, dir, urlPath string) {
	h := w.Header()
	h.Set("Cache-Control", cachePolicy(urlPath))
	h.Set("X-Content-Type-Options", "nosniff")
	p := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+urlPath)))
	st, err := os.Stat(p)
	if err == nil && st.IsDir() {
		p = filepath.Join(p, PageFile)
		st, err = os.Stat(p)
	}
	if err != nil || !st.Mode().IsRegular() {
		return
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	h.Set("ETag", fmt.Sprintf(`"%x-%x-%x"`, ino, st.Size(), st.ModTime().UnixNano()))
	if path.Ext(p) == ".html" {
		h.Set("Content-Security-Policy", PageCSP)
	}
}
