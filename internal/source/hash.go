package source

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"
)

// HashZip computes the go.sum "h1:" hash of a module zip: the SHA-256 of a
// listing of "sha256hex  name\n" lines, one per file, sorted by name (the
// dirhash Hash1 algorithm). Computing it here means verification trusts
// neither the network nor the go command's cache.
func HashZip(path string) (string, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return "", err
	}
	defer z.Close()
	files := make([]*zip.File, 0, len(z.File))
	for _, f := range z.File {
		if strings.Contains(f.Name, "\n") {
			return "", fmt.Errorf("file name with newline in %s", path)
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	summary := sha256.New()
	for _, f := range files {
		r, err := f.Open()
		if err != nil {
			return "", err
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(summary, "%x  %s\n", h.Sum(nil), f.Name)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(summary.Sum(nil)), nil
}
