package aptrepo

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// The front page, indexes and keys must be revalidated; pool and by-hash
// files may be cached for good; every file has an ETag that answers 304.
func TestServeHeaders(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	deb := testDeb(t, repo, "alpha", "1.0", "first test package")
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	byHash, _ := filepath.Glob(filepath.Join(repo, "dists", "tc", "main", "binary-amd64", "by-hash", "SHA256", "*"))
	if len(byHash) == 0 {
		t.Fatal("no by-hash files")
	}
	rel := func(p string) string {
		r, _ := filepath.Rel(repo, p)
		return "/" + filepath.ToSlash(r)
	}
	srv := httptest.NewServer(Handler(repo))
	defer srv.Close()
	cases := []struct{ path, ctype, cache string }{
		{"/", "text/html; charset=utf-8", "no-cache"},
		{"/" + CSSFile, "text/css; charset=utf-8", "no-cache"},
		{"/dists/tc/InRelease", "text/plain; charset=utf-8", "no-cache"},
		{"/dists/tc/main/binary-amd64/Packages.gz", "application/gzip", "no-cache"},
		{"/test-archive-keyring.sources", "text/plain; charset=utf-8", "no-cache"},
		{"/test-archive-keyring.asc", "application/pgp-keys", "no-cache"},
		{rel(deb), "application/vnd.debian.binary-package", cacheImmutable},
		{rel(byHash[0]), "", cacheImmutable},
	}
	for _, c := range cases {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || (c.ctype != "" && h.Get("Content-Type") != c.ctype) || h.Get("Cache-Control") != c.cache {
			t.Errorf("%s: %d type %q cache %q", c.path, resp.StatusCode, h.Get("Content-Type"), h.Get("Cache-Control"))
			continue
		}
		if h.Get("ETag") == "" || h.Get("Last-Modified") == "" {
			t.Errorf("%s: ETag %q Last-Modified %q", c.path, h.Get("ETag"), h.Get("Last-Modified"))
			continue
		}
		req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		resp2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match answered %d, want 304", c.path, resp2.StatusCode)
		}
	}
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Security-Policy") != PageCSP {
		t.Errorf("page CSP header %q", resp.Header.Get("Content-Security-Policy"))
	}
	// A publish changes the page: its old ETag must no longer match.
	old := resp.Header.Get("ETag")
	testDeb(t, repo, "beta", "1.0", "second")
	cfg.Now = cfg.Now.Add(time.Minute)
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("If-None-Match", old)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == old {
		t.Errorf("after publish: %d, ETag %q (old %q)", resp.StatusCode, resp.Header.Get("ETag"), old)
	}
}
