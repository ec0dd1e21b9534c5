package packaging

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2/files"
)

// What dh_installman and dh_compress do to a package, on the content list
// (the staged tree itself is left as the builder wrote it):
//   - a man page that is only a ".so other.N" line becomes a symlink;
//   - man and info pages are compressed with gzip -9n, and the info "dir"
//     index is dropped (install-info maintains the system's own);
//   - under /usr/share/doc, changelogs, NEWS and files over 4 KiB are
//     compressed, except the copyright file, examples and formats that are
//     compressed already or read by browsers;
//   - symlinks to a compressed file point at the .gz and get the suffix too.
// Debian policy 12.1-12.3; lintian: uncompressed-manual-page,
// info-document-not-compressed, package-contains-info-dir-file.

const (
	manDir  = "/usr/share/man/"
	infoDir = "/usr/share/info/"
	docDir  = "/usr/share/doc/"
	// docCompressSize is dh_compress's threshold for other documentation.
	docCompressSize = 4096
)

// docExempt are the suffixes dh_compress never compresses under /usr/share/doc.
var docExempt = []string{
	".htm", ".html", ".xhtml", ".gif", ".png", ".jpg", ".jpeg", ".gz", ".taz", ".tgz", ".z",
	".bz2", "-gz", "-z", "_z", ".epub", ".jar", ".zip", ".odg", ".odp", ".odt", ".htaccess",
	".css", ".xz", ".lz", ".lzma", ".zst", ".haddock", ".hs", ".woff", ".woff2", ".jsonld",
	".svg", ".svgz", ".js", ".map", ".pdf",
}

// compressDocs returns contents with man, info and doc files compressed
// into gzDir, .so man pages as symlinks and symlinks repointed.
func compressDocs(contents files.Contents, gzDir string) (files.Contents, error) {
	byDst := map[string]*files.Content{}
	for _, ct := range contents {
		byDst[ct.Destination] = ct
	}
	renamed := map[string]string{} // old destination -> new
	var out files.Contents
	for _, ct := range contents {
		if ct.Type != files.TypeFile {
			out = append(out, ct)
			continue
		}
		dst := ct.Destination
		switch {
		case strings.HasPrefix(dst, infoDir) && (path.Base(dst) == "dir" || path.Base(dst) == "dir.old"):
			continue // the system's index, not ours
		case strings.HasPrefix(dst, manDir) && !strings.HasSuffix(dst, ".gz"):
			if target, ok := soLink(ct.Source, dst, byDst); ok {
				out = append(out, linkContent(target, dst))
				continue
			}
		case strings.HasPrefix(dst, infoDir) && !strings.HasSuffix(dst, ".gz"):
		case strings.HasPrefix(dst, docDir) && compressibleDoc(ct):
		default:
			out = append(out, ct)
			continue
		}
		if strings.HasSuffix(dst, ".gz") {
			out = append(out, ct)
			continue
		}
		gz := filepath.Join(gzDir, filepath.FromSlash(dst)+".gz")
		if err := gzipFile(ct.Source, gz); err != nil {
			return nil, fmt.Errorf("compress %s: %w", dst, err)
		}
		c := *ct
		c.Source, c.Destination = gz, dst+".gz"
		renamed[dst] = c.Destination
		out = append(out, &c)
	}
	repointLinks(out, renamed)
	return out, nil
}

// compressibleDoc applies dh_compress's rule for /usr/share/doc.
func compressibleDoc(ct *files.Content) bool {
	base := strings.ToLower(path.Base(ct.Destination))
	if base == "copyright" || strings.Contains(ct.Destination, "/examples/") {
		return false
	}
	for _, s := range docExempt {
		if strings.HasSuffix(base, s) {
			return false
		}
	}
	if strings.HasPrefix(base, "changelog") || strings.HasPrefix(base, "news") {
		return true
	}
	st, err := os.Stat(ct.Source)
	return err == nil && st.Size() > docCompressSize
}

// soLink reports whether the man page at src is only a ".so" request for
// another page this package ships, and the relative symlink target if so.
func soLink(src, dst string, byDst map[string]*files.Content) (string, bool) {
	st, err := os.Stat(src)
	if err != nil || st.Size() > 1024 {
		return "", false
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", false
	}
	var req string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, `.\"`) || strings.HasPrefix(line, `'\"`) {
			continue // roff comment
		}
		if req != "" {
			return "", false // more than the one request
		}
		arg, ok := strings.CutPrefix(line, ".so ")
		if !ok {
			return "", false
		}
		req = strings.TrimSpace(arg)
	}
	if req == "" {
		return "", false
	}
	// ".so man1/foo.1" is relative to the man tree root of this page
	// (/usr/share/man or /usr/share/man/<lang>): two levels above it.
	root := path.Dir(path.Dir(dst))
	target := path.Join(root, req)
	if byDst[target] == nil && byDst[target+".gz"] == nil {
		return "", false
	}
	rel, err := filepath.Rel(path.Dir(dst), target)
	if err != nil {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// repointLinks gives symlinks to renamed files the new target, and the
// same suffix to the link, until no link changes (links to links).
func repointLinks(contents files.Contents, renamed map[string]string) {
	for changed := true; changed; {
		changed = false
		for _, ct := range contents {
			if ct.Type != files.TypeSymlink {
				continue
			}
			target := ct.Source
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(ct.Destination), target)
			}
			newTarget, ok := renamed[target]
			if !ok {
				continue
			}
			ct.Source += strings.TrimPrefix(newTarget, target)
			if suffix := path.Ext(newTarget); !strings.HasSuffix(ct.Destination, suffix) {
				renamed[ct.Destination] = ct.Destination + suffix
				ct.Destination += suffix
			}
			changed = true
		}
	}
}

// gzipFile writes src compressed as gzip -9n does: best compression, no
// name, no timestamp, so the bytes depend only on the content.
func gzipFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	z, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := z.Write(data); err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}
