package buildkey

import (
	"crypto/sha256"
	"fmt"

	"github.com/debforge/debforge/internal/spec"
)

// Repo hashes the repository settings that can reach a package's
// bytes. Those that only go into Release, the .sources file, the front
// page or the pool's pruning do not: changing the url must not rebuild the
// stack. Every other field counts, including ones added later, unless it
// is cleared here.
func Repo(repo *spec.Repo) string {
	r := *repo
	r.URL, r.Description, r.ValidDays, r.Label, r.Origin, r.Keep, r.File = "", "", 0, "", "", 0, ""
	// The toolchain is keyed by its version and hash (Env.Toolchain);
	// %#v would print this pointer's address, different on every run.
	r.GoToolchain = nil
	return fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprintf("%#v", r))))
}
