package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/atomicfile"
)

// Memo keeps what was computed from files (a digest, a comparison) on
// disk under Dir, by the files' paths and identities, so that a later
// run that finds them unchanged does not read them again: a no-op build
// of four targets otherwise re-reads every pooled package, debforge's own
// binary and every module zip. With Dir empty it remembers nothing.
type Memo struct {
	Dir string
	// Input is what compute depends on besides the files' bytes (a
	// version, say); it is part of every key.
	Input string
}

// InCache is the Memo of debforge's cache directory cacheDir (none when
// it is empty).
func InCache(cacheDir string) Memo {
	if cacheDir == "" {
		return Memo{}
	}
	return Memo{Dir: filepath.Join(cacheDir, "digests")}
}

// Of returns compute's result for the files at paths (kind names what
// compute does), remembered for as long as every file keeps its identity.
// A file that cannot be stat'ed is an error, as it would be to compute.
func (m Memo) Of(kind string, compute func() (string, error), paths ...string) (string, error) {
	if m.Dir == "" {
		return compute()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", kind, m.Input)
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		id, err := Identity(abs)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%s\x00", abs, id)
	}
	entry := filepath.Join(m.Dir, kind, hex.EncodeToString(h.Sum(nil))[:32])
	if b, err := os.ReadFile(entry); err == nil && len(b) > 0 {
		return strings.TrimSuffix(string(b), "\n"), nil
	}
	v, err := compute()
	if err != nil {
		return "", err
	}
	// Remembering is best effort: a read-only cache only costs the
	// next run the same work again.
	if os.MkdirAll(filepath.Dir(entry), 0o755) == nil {
		atomicfile.Write(entry, []byte(v+"\n"), 0o644)
	}
	return v, nil
}
