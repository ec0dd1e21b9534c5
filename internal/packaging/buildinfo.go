package packaging

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/atomicfile"
)

// BuildInfo is the record of how one .deb was built: Debian's .buildinfo
// (deb-buildinfo(5), Format 1.0), plus debforge's own X- fields naming the
// build root and toolchain so that the build can be made again.
type BuildInfo struct {
	Source, Binary, Architecture, Version string
	// BuildArch is the architecture the build ran on (the root's).
	BuildArch string
	// Date is SOURCE_DATE_EPOCH (the packaged files' mtime), not the wall
	// clock, so the record is as reproducible as the package.
	Date time.Time
	// Installed lists the build root's packages as "name (= version)".
	Installed []string
	// Environment is the build's environment, KEY=VALUE.
	Environment []string
	// Extra fields, e.g. X-Debforge-Root-Key.
	Extra map[string]string
}

// BuildInfoPath is where the record of deb lives: beside it.
func BuildInfoPath(deb string) string { return strings.TrimSuffix(deb, ".deb") + ".buildinfo" }

// WriteBuildInfo writes bi for deb (its checksum and size included) beside it.
func WriteBuildInfo(deb string, bi BuildInfo) error {
	f, err := os.Open(deb)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return err
	}
	var b strings.Builder
	field := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, v) }
	field("Format", "1.0")
	field("Source", bi.Source)
	field("Binary", bi.Binary)
	field("Architecture", bi.Architecture)
	field("Version", bi.Version)
	fmt.Fprintf(&b, "Checksums-Sha256:\n %s %d %s\n", hex.EncodeToString(h.Sum(nil)), n, filepath.Base(deb))
	field("Build-Architecture", bi.BuildArch)
	field("Build-Date", bi.Date.UTC().Format(time.RFC1123Z))
	field("Build-Path", "/build/src")
	b.WriteString("Installed-Build-Depends:\n")
	for i, p := range bi.Installed {
		sep := ","
		if i == len(bi.Installed)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, " %s%s\n", p, sep)
	}
	b.WriteString("Environment:\n")
	for _, kv := range bi.Environment {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, " %s=%q\n", k, v)
	}
	keys := make([]string, 0, len(bi.Extra))
	for k := range bi.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k, bi.Extra[k])
	}
	return atomicfile.Write(BuildInfoPath(deb), []byte(b.String()), 0o644)
}
