package aptrepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/debforge/debforge/internal/atomicfile"
)

// PromotionsFile is the record of every version moved from a release's
// staging suite into the release's own suite (debforge promote), in the
// repository beside its indexes: the stable suites are published from
// it, and the front page's feed of promotions is made from it.
const PromotionsFile = "promotions.json"

// StagingSuffix ends the codename of a release's staging suite.
const StagingSuffix = "-staging"

// Promotion is one package version moved into Release's suite.
type Promotion struct {
	Release string    `json:"release"`
	Package string    `json:"package"`
	Version string    `json:"version"`
	Arch    string    `json:"arch"`
	Date    time.Time `json:"date"`
	// Changes is the version's changelog text, for the feed.
	Changes string `json:"changes,omitempty"`
}

// Key identifies the promoted .deb within its release (PromotionKey).
func (p Promotion) Key() string { return PromotionKey(p.Package, p.Version, p.Arch) }

// PromotionKey is how PromotedIn names a package's version on an
// architecture ("all" for an Architecture: all package).
func PromotionKey(pkg, version, arch string) string { return pkg + "_" + version + "_" + arch }

// ReadPromotions returns the record, oldest first; none when there is
// no file yet.
func ReadPromotions(repoDir string) ([]Promotion, error) {
	path := filepath.Join(repoDir, PromotionsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Promotion
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w (it is written only by debforge promote; restore it from a backup of the repository)", path, err)
	}
	return out, nil
}

// RecordPromotions appends ps to the record, replacing the file in one
// rename.
func RecordPromotions(repoDir string, ps []Promotion) error {
	all, err := ReadPromotions(repoDir)
	if err != nil {
		return err
	}
	all = append(all, ps...)
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(repoDir, PromotionsFile), append(data, '\n'), 0o644)
}

// PromotedIn returns the keys (Promotion.Key) of what the record moved
// into each release.
func PromotedIn(ps []Promotion) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, p := range ps {
		if out[p.Release] == nil {
			out[p.Release] = map[string]bool{}
		}
		out[p.Release][p.Key()] = true
	}
	return out
}

// ReadIndex returns the stanzas of a published suite's Packages index
// for arch, dists/<suite>/<component>/binary-<arch>/Packages; none when
// the suite has no such index.
func ReadIndex(repoDir, suite, component, arch string) ([][]Field, error) {
	data, err := os.ReadFile(filepath.Join(repoDir, "dists", suite, component, "binary-"+arch, "Packages"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseStanzas(data), nil
}
