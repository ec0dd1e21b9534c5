package aptrepo

import (
	"mime"
	"net/http"
	"path"
	"strings"
)

// contentTypes are what apt and browsers expect for repository files.
var contentTypes = map[string]string{
	".deb": "application/vnd.debian.binary-package",
	".gz":  "application/gzip",
	".xz":  "application/x-xz",
	".gpg": "application/pgp-signature",
	".asc": "application/pgp-keys",
	// Text a browser should show, not download.
	".buildinfo": "text/plain; charset=utf-8",
	".json":      "application/json",
	".atom":      "application/atom+xml",
	".txt":       "text/plain; charset=utf-8",
	".log":       "text/plain; charset=utf-8", // debforge test's logs
}

// Handler serves a repository directory read-only, with Debian content
// types and plain text for Release, InRelease and Packages.
// Under pool/ it serves only the files the published indexes list and
// their companions (poolGuard).
func Handler(dir string) http.Handler {
	fs := http.FileServer(http.Dir(dir))
	pool := &poolGuard{dir: dir}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "read-only repository", http.StatusMethodNotAllowed)
			return
		}
		if !servable(dir, r.URL.Path) || !pool.servable(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		base := path.Base(r.URL.Path)
		switch {
		case base == "Release" || base == "InRelease" || base == "Packages" || strings.HasSuffix(base, ".sources"):
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		case contentTypes[path.Ext(base)] != "":
			w.Header().Set("Content-Type", contentTypes[path.Ext(base)])
		default:
			if t := mime.TypeByExtension(path.Ext(base)); t != "" {
				w.Header().Set("Content-Type", t)
			}
		}
		setCacheHeaders(w, dir, r.URL.Path)
		fs.ServeHTTP(w, r)
	})
}
