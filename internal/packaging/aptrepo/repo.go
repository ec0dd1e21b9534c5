// Package aptrepo writes a signed apt repository: a pool of .debs and, per
// publish, a fresh snapshot of indexes (Packages, Release, InRelease,
// Release.gpg, by-hash copies) swapped in with one atomic rename. Indexes
// are built from the .debs themselves, so a .deb dropped into pool/ by hand
// is indexed like any other.
package aptrepo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/filehash"

	"github.com/ulikunitz/xz"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/packaging/debfile"
)

// Config describes the repository to publish.
type Config struct {
	// Dir is the repository root (out/repo).
	Dir                                                    string
	Origin, Label, Suite, Codename, Component, Description string
	// Keep is how many versions of each package stay in the pool.
	Keep int
	// ValidFor, when non-zero, sets Valid-Until = Date + ValidFor.
	ValidFor time.Duration
	// Archs are always indexed, even when no package of theirs exists.
	Archs []string
	// KeyName names the published key files and the .sources file.
	KeyName string
	// URL is what hosts put in URIs; default file://<Dir>.
	URL    string
	Signer *Signer
	Now    time.Time
	// Releases, when set, publishes one dists/<codename> per release
	// from the one pool (Codename, Suite and Archs are then unused).
	Releases []ReleaseTarget
	// Remove names packages to drop: left out of the new index and, after
	// the swap, deleted from the pool with the files that travel with
	// them (so no published index ever names a missing file).
	Remove []string
	// RemoveFiles names pool files (relative to Dir) to drop the same way,
	// including files no release indexes (Stray).
	RemoveFiles []string
}

// Package is one indexed .deb.
type Package struct {
	Name, Version, Arch string
	Filename            string // relative to the repository root
	Size                int64
	SHA256              string
	Fields              []debfile.Field
}

// PoolPath returns where a .deb of source package src belongs:
// pool/<component>/<initial>/<src>/<file>, with "lib" prefixes split as
// Debian does (libfoo -> libf).
func PoolPath(component, src, file string) string {
	initial := src[:1]
	if strings.HasPrefix(src, "lib") && len(src) > 3 {
		initial = src[:4]
	}
	return path.Join("pool", component, initial, src, file)
}

// ChangedError is a .deb whose file name (package, version, architecture)
// is in the pool already with other bytes: a published version never
// changes, so it is refused.
type ChangedError struct{ File string }

func (e *ChangedError) Error() string {
	return e.File + " is already published with other contents; bump the spec's revision to publish a changed package"
}

// AddToPool copies a .deb into the pool (atomically) and returns its path
// and whether it was new. A file already there with the same bytes is left
// alone; one with other bytes under the same name is refused: a published
// version never changes.
func AddToPool(repoDir, component, debPath string) (string, bool, error) {
	return AddToPoolWith(filehash.Memo{}, repoDir, component, debPath)
}

// AddToPoolWith is AddToPool remembering in digests which .deb was found
// equal to its pooled copy, so that a no-op build does not read both again.
func AddToPoolWith(digests filehash.Memo, repoDir, component, debPath string) (string, bool, error) {
	d, err := debfile.ReadFile(debPath, debfile.Options{})
	if err != nil {
		return "", false, err
	}
	src := d.Get("Source")
	if src == "" {
		src = d.Get("Package")
	}
	src, _, _ = strings.Cut(src, " ")
	dst := filepath.Join(repoDir, PoolPath(component, src, filepath.Base(debPath)))
	same, err := digests.Of("same-bytes", func() (string, error) {
		same, err := sameBytes(debPath, dst)
		return strconv.FormatBool(same), err
	}, debPath, dst)
	if err == nil {
		if same == "true" {
			// The pooled .deb stays, and so do its companions: they are the
			// record of the build that published it. Only missing ones are
			// filled in (a pool from before they existed, or one lost).
			return dst, false, copyCompanions(debPath, dst, false)
		}
		return "", false, &ChangedError{File: filepath.Base(dst)}
	}
	data, err := os.ReadFile(debPath)
	if err != nil {
		return "", false, err
	}
	// The files that travel with the .deb go first: a package in the pool
	// always has them.
	if err := copyCompanions(debPath, dst, true); err != nil {
		return "", false, err
	}
	return dst, true, atomicfile.Write(dst, data, 0o644)
}

// sameBytes says whether the files at a and b hold the same bytes; an
// error (b missing, say) says nothing. Sizes first, then the contents,
// compared as read: a rebuild of every package finds each one already
// pooled, and comparing costs less than hashing both.
func sameBytes(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	sa, err := fa.Stat()
	if err != nil {
		return false, err
	}
	sb, err := fb.Stat()
	if err != nil || sa.Size() != sb.Size() {
		return false, err
	}
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		n, errA := io.ReadFull(fa, bufA)
		m, errB := io.ReadFull(fb, bufB)
		if n != m || !bytes.Equal(bufA[:n], bufB[:m]) {
			return false, nil
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, errB
		}
	}
}

// Companions are the suffixes (replacing ".deb") of the files that travel
// with a .deb: written beside it at package time, copied into the pool
// with it, pruned with it.
var Companions = []string{".spdx.json", ".buildinfo"}

// companionPaths are the companion files of deb, present or not.
func companionPaths(deb string) []string {
	stem := strings.TrimSuffix(deb, ".deb")
	out := make([]string, len(Companions))
	for i, s := range Companions {
		out[i] = stem + s
	}
	return out
}

// copyCompanions copies the companions found beside src to beside dst;
// without replace, only those dst does not have yet.
func copyCompanions(src, dst string, replace bool) error {
	from, to := companionPaths(src), companionPaths(dst)
	for i := range from {
		if _, err := os.Lstat(to[i]); err == nil && !replace {
			continue
		}
		data, err := os.ReadFile(from[i])
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := atomicfile.Write(to[i], data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// removeWithCompanions removes a pooled .deb and the files that travel
// with it; the .deb goes last, so an interrupted removal leaves nothing
// orphaned that the next one would not find.
func removeWithCompanions(deb string) error {
	for _, p := range append(companionPaths(deb), deb) {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// Scan reads every .deb under pool/ in parallel.
func Scan(repoDir string) ([]*Package, error) {
	paths, err := PoolFiles(repoDir)
	if err != nil {
		return nil, err
	}
	pkgs := make([]*Package, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU()*2)
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pkgs[i], errs[i] = readPackage(repoDir, p)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return pkgs, nil
}

func readPackage(repoDir, p string) (*Package, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	// One buffered read of the file feeds both the hash and the control
	// parser (ar reads 60-byte headers: unbuffered, that is a syscall each).
	br := bufio.NewReaderSize(f, 8<<10)
	d, err := debfile.Read(io.TeeReader(br, h), debfile.Options{})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", p, err)
	}
	if _, err := br.WriteTo(h); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(repoDir, p)
	pkg := &Package{Name: d.Get("Package"), Version: d.Get("Version"), Arch: d.Get("Architecture"),
		Filename: filepath.ToSlash(rel), Size: st.Size(), SHA256: hex.EncodeToString(h.Sum(nil)), Fields: d.Fields}
	if pkg.Name == "" || pkg.Version == "" || pkg.Arch == "" {
		return nil, fmt.Errorf("index %s: control lacks Package, Version or Architecture", p)
	}
	return pkg, nil
}

// Select keeps the newest keep versions of each (name, arch) and returns
// the kept and the dropped packages.
func Select(pkgs []*Package, keep int) (kept, dropped []*Package) {
	groups := map[string][]*Package{}
	for _, p := range pkgs {
		k := p.Name + "\x00" + p.Arch
		groups[k] = append(groups[k], p)
	}
	for _, g := range groups {
		sort.Slice(g, func(i, j int) bool { return debian.CompareVersions(g[i].Version, g[j].Version) > 0 })
		for i, p := range g {
			if keep > 0 && i >= keep {
				dropped = append(dropped, p)
			} else {
				kept = append(kept, p)
			}
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		if kept[i].Name != kept[j].Name {
			return kept[i].Name < kept[j].Name
		}
		return debian.CompareVersions(kept[i].Version, kept[j].Version) < 0
	})
	return kept, dropped
}

// Stanza renders a package's Packages entry: its control fields with
// Filename, Size and SHA256 added before the Description.
func Stanza(p *Package) string {
	var b strings.Builder
	var desc *debfile.Field
	for i, f := range p.Fields {
		if f.Name == "Description" {
			desc = &p.Fields[i]
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
	}
	fmt.Fprintf(&b, "Filename: %s\nSize: %d\nSHA256: %s\n", p.Filename, p.Size, p.SHA256)
	if desc != nil {
		fmt.Fprintf(&b, "Description: %s\n", desc.Value)
	}
	return b.String()
}

// indexFile is one file listed in Release.
type indexFile struct {
	rel  string // relative to dists/<codename>
	data []byte
}

// ReleaseTarget is one dists/<Codename> of a repository that publishes
// several releases from one pool.
type ReleaseTarget struct {
	Codename, Suite string
	// Suffix ends the version of every package built for this release
	// ("+deb12"). A version with no release suffix at all (the keyring,
	// packages published before targets) belongs to every release.
	Suffix string
	// Archs are always indexed, even when no package of theirs exists.
	Archs []string
	// Admit, when set, chooses which of the release's packages this
	// suite lists (a stable suite: what was promoted into it).
	Admit func(*Package) bool
	// Tested names the tests/<Tested>-<arch>/ results of its packages
	// are read from; default Codename (a staging suite reads its
	// release's).
	Tested string
}

// testedAs is where rt's packages' test results are kept.
func (rt ReleaseTarget) testedAs() string {
	if rt.Tested != "" {
		return rt.Tested
	}
	return rt.Codename
}

// releases is what Publish writes: cfg.Releases, or the one release of
// Codename and Suite holding every package.
func (cfg Config) releases() []ReleaseTarget {
	if len(cfg.Releases) > 0 {
		return cfg.Releases
	}
	return []ReleaseTarget{{Codename: cfg.Codename, Suite: cfg.Suite, Archs: cfg.Archs}}
}

// Stray reports whether p belongs to none of cfg's releases: it carries
// the suffix of a release no longer published. It stays in the pool,
// indexed nowhere, until removed (debforge lists it as an orphan).
func (cfg Config) Stray(p *Package) bool {
	for _, rt := range cfg.releases() {
		if belongs(p, rt) {
			return false
		}
	}
	return true
}

// multi reports whether cfg publishes several releases (and so one
// <key_name>-<codename>.sources per release).
func (cfg Config) multi() bool { return len(cfg.Releases) > 0 }

// belongs reports whether p goes into release r's indexes.
func belongs(p *Package, r ReleaseTarget) bool {
	if r.Suffix == "" {
		return true
	}
	return strings.HasSuffix(p.Version, r.Suffix) || !debian.ReleaseSuffixRe.MatchString(p.Version)
}

// SourcesName is the .sources file hosts of codename copy: one per
// release when the repository publishes several.
func (cfg Config) SourcesName(codename string) string {
	if cfg.multi() {
		return cfg.KeyName + "-" + codename + ".sources"
	}
	return cfg.KeyName + ".sources"
}

// releaseBuild is one release's signed indexes, ready to be swapped in.
type releaseBuild struct {
	rt                         ReleaseTarget
	kept                       []*Package
	archs                      []string
	files                      []indexFile
	release, inRelease, detach []byte
	snap, prevSnap             string
}

// Publish indexes the pool and swaps in a new signed snapshot of each
// release's dists/<codename>. Versions beyond Keep are removed from the
// pool after the swaps (a file kept by any release stays).
func Publish(cfg Config) error {
	if cfg.Signer == nil {
		return fmt.Errorf("publish: no signing key")
	}
	if err := cfg.check(); err != nil {
		return err
	}
	// Files the current indexes already list with the same hash were
	// verified when they were first indexed; new ones are verified now,
	// and a bad one is left out while the rest publish.
	trusted := map[string]string{}
	for _, rt := range cfg.releases() {
		for f, h := range trustedIndex(cfg.Dir, rt.Codename) {
			trusted[f] = h
		}
	}
	all, bad, err := scanPool(cfg.Dir, trusted)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	builds, dropped, keptAnywhere, err := buildReleases(cfg, all)
	if err != nil {
		return err
	}
	// The front page and the feed list the promotions into the releases.
	promotions, err := ReadPromotions(cfg.Dir)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := writeSnapshots(cfg, builds, promotions); err != nil {
		return err
	}
	if err := writeKeyFiles(cfg); err != nil {
		return fmt.Errorf("publish keys: %w", err)
	}
	if err := writeFeed(cfg, promotions); err != nil {
		return fmt.Errorf("publish %s: %w", FeedFile, err)
	}
	if err := prune(cfg.Dir, dropped, keptAnywhere); err != nil {
		return err
	}
	pruneTestResults(cfg.Dir, builds)
	if len(bad) > 0 {
		return &BadPoolError{Files: bad}
	}
	return nil
}

// buildReleases selects what each release keeps of the pool and renders
// and signs its indexes. dropped are the packages no longer published
// (beyond keep, removed by name, or strays asked to go); keptAnywhere the
// files some release still lists.
func buildReleases(cfg Config, all []*Package) (builds []*releaseBuild, dropped []*Package, keptAnywhere map[string]bool, err error) {
	for _, p := range all {
		if cfg.Stray(p) && slices.Contains(cfg.RemoveFiles, p.Filename) {
			dropped = append(dropped, p)
		}
	}
	keptAnywhere = map[string]bool{}
	for _, rt := range cfg.releases() {
		var mine []*Package
		for _, p := range all {
			if belongs(p, rt) && (rt.Admit == nil || rt.Admit(p)) {
				mine = append(mine, p)
			}
		}
		kept, drop := Select(mine, cfg.Keep)
		kept, drop = removeNamed(kept, drop, cfg.Remove, cfg.RemoveFiles)
		dropped = append(dropped, drop...)
		for _, p := range kept {
			keptAnywhere[p.Filename] = true
		}
		b, err := buildRelease(cfg, rt, kept)
		if err != nil {
			return nil, nil, nil, err
		}
		builds = append(builds, b)
	}
	return builds, dropped, keptAnywhere, nil
}

// writeSnapshots writes every release's snapshot, with its changelogs,
// before the front page that links into all of them; then each release
// swaps in with one rename of its own, and the page link follows.
func writeSnapshots(cfg Config, builds []*releaseBuild, promotions []Promotion) error {
	site, err := publishedSite(cfg, builds, promotions)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	for i, b := range builds {
		if b.snap, b.prevSnap, err = prepareSnapshot(cfg, b.rt.Codename, b.files); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		links, err := writeChangelogs(cfg.Dir, b.rt.Codename, b.snap, b.prevSnap, b.kept)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		site.Releases[i].Entries = siteEntries(cfg.Dir, b.rt.testedAs(), b.archs, b.kept, links)
	}
	for _, b := range builds {
		if err := writePage(b.snap, site); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if err := commitSnapshot(cfg, b.rt.Codename, b.snap, b.prevSnap, b.release, b.inRelease, b.detach); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	if err := linkPage(cfg); err != nil {
		return fmt.Errorf("publish %s: %w", PageFile, err)
	}
	return nil
}

// prune removes the dropped packages no release lists any more, each
// once, with their companions (.buildinfo, SBOM).
func prune(dir string, dropped []*Package, keptAnywhere map[string]bool) error {
	gone := map[string]bool{}
	for _, p := range dropped {
		if keptAnywhere[p.Filename] || gone[p.Filename] {
			continue
		}
		gone[p.Filename] = true
		if err := removeWithCompanions(filepath.Join(dir, filepath.FromSlash(p.Filename))); err != nil {
			return fmt.Errorf("prune %s: %w", p.Filename, err)
		}
	}
	return nil
}

// buildRelease renders and signs one release's indexes.
func buildRelease(cfg Config, rt ReleaseTarget, kept []*Package) (*releaseBuild, error) {
	archs := map[string]bool{}
	for _, a := range rt.Archs {
		archs[a] = true
	}
	for _, p := range kept {
		if p.Arch != "all" {
			archs[p.Arch] = true
		}
	}
	archList := sortedKeys(archs)
	if len(archList) == 0 {
		return nil, fmt.Errorf("publish %s: no architecture to index (no packages and none configured)", rt.Codename)
	}
	var files []indexFile
	for _, arch := range archList {
		var b strings.Builder
		for _, p := range kept {
			if p.Arch == arch || p.Arch == "all" {
				b.WriteString(Stanza(p))
				b.WriteByte('\n')
			}
		}
		plain := []byte(b.String())
		gz, err := gzipBytes(plain)
		if err != nil {
			return nil, err
		}
		xzd, err := xzBytes(plain)
		if err != nil {
			return nil, err
		}
		dir := path.Join(cfg.Component, "binary-"+arch)
		files = append(files,
			indexFile{path.Join(dir, "Packages"), plain},
			indexFile{path.Join(dir, "Packages.gz"), gz},
			indexFile{path.Join(dir, "Packages.xz"), xzd})
	}
	release := releaseFile(cfg, rt, archList, files)
	inRelease, err := cfg.Signer.ClearSign(release)
	if err != nil {
		return nil, fmt.Errorf("sign InRelease of %s: %w", rt.Codename, err)
	}
	detached, err := cfg.Signer.DetachSign(release)
	if err != nil {
		return nil, fmt.Errorf("sign Release.gpg of %s: %w", rt.Codename, err)
	}
	return &releaseBuild{rt: rt, kept: kept, archs: archList, files: files, release: release, inRelease: inRelease, detach: detached}, nil
}

// removeNamed moves the packages named in remove, and the pool files in
// files, from kept to dropped.
func removeNamed(kept, dropped []*Package, remove, files []string) ([]*Package, []*Package) {
	if len(remove) == 0 && len(files) == 0 {
		return kept, dropped
	}
	gone := map[string]bool{}
	for _, n := range remove {
		gone[n] = true
	}
	goneFile := map[string]bool{}
	for _, f := range files {
		goneFile[f] = true
	}
	var stay []*Package
	for _, p := range kept {
		if gone[p.Name] || goneFile[p.Filename] {
			dropped = append(dropped, p)
		} else {
			stay = append(stay, p)
		}
	}
	return stay, dropped
}

// releaseHashes are the checksums Release lists, each with a by-hash dir.
var releaseHashes = []struct {
	name string
	new  func() hash.Hash
}{{"SHA256", sha256.New}, {"SHA512", sha512.New}}

func releaseFile(cfg Config, rt ReleaseTarget, archs []string, files []indexFile) []byte {
	var b strings.Builder
	now := cfg.Now.UTC()
	fmt.Fprintf(&b, "Origin: %s\nLabel: %s\nSuite: %s\nCodename: %s\n", cfg.Origin, cfg.Label, rt.Suite, rt.Codename)
	fmt.Fprintf(&b, "Date: %s\n", now.Format(time.RFC1123Z))
	if cfg.ValidFor > 0 {
		fmt.Fprintf(&b, "Valid-Until: %s\n", now.Add(cfg.ValidFor).Format(time.RFC1123Z))
	}
	fmt.Fprintf(&b, "Architectures: %s\nComponents: %s\nDescription: %s\nAcquire-By-Hash: yes\n",
		strings.Join(archs, " "), cfg.Component, cfg.Description)
	for _, h := range releaseHashes {
		b.WriteString(h.name + ":\n")
		for _, f := range files {
			hh := h.new()
			hh.Write(f.data)
			fmt.Fprintf(&b, " %x %d %s\n", hh.Sum(nil), len(f.data), f.rel)
		}
	}
	return []byte(b.String())
}

// prepareSnapshot writes the indexes of codename into a new directory
// under .snapshots/ and returns it with the previous snapshot (or "").
// by-hash copies of the previous snapshot's indexes are carried over, so
// clients holding the previous Release can still fetch what it names.
func prepareSnapshot(cfg Config, codename string, files []indexFile) (snap, prevSnap string, err error) {
	snapRoot := filepath.Join(cfg.Dir, ".snapshots")
	if err := os.MkdirAll(snapRoot, 0o755); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "dists"), 0o755); err != nil {
		return "", "", err
	}
	snap, err = os.MkdirTemp(snapRoot, codename+"-"+cfg.Now.UTC().Format("20060102T150405Z")+"-")
	if err != nil {
		return "", "", err
	}
	if err := os.Chmod(snap, 0o755); err != nil {
		return "", "", err
	}
	for _, f := range files {
		p := filepath.Join(snap, filepath.FromSlash(f.rel))
		if err := writeFileSync(p, f.data); err != nil {
			return "", "", err
		}
		// One by-hash copy per hash Release lists: apt asks for the
		// strongest (SHA512) and logs "Ign:" after a 404.
		for _, h := range releaseHashes {
			hh := h.new()
			hh.Write(f.data)
			if err := writeFileSync(filepath.Join(filepath.Dir(p), "by-hash", h.name, hex.EncodeToString(hh.Sum(nil))), f.data); err != nil {
				return "", "", err
			}
		}
	}
	if prev, _ := os.Readlink(filepath.Join(cfg.Dir, "dists", codename)); prev != "" {
		prevSnap = filepath.Join(cfg.Dir, "dists", prev)
		carryByHash(prevSnap, snap)
	}
	return snap, prevSnap, nil
}

// commitSnapshot writes the signed Release files into snap and points
// dists/<codename> (a symlink) at it with one rename, so a reader sees
// either the old Release with its indexes or the new ones.
func commitSnapshot(cfg Config, codename, snap, prevSnap string, release, inRelease, detached []byte) error {
	for name, data := range map[string][]byte{"Release": release, "InRelease": inRelease, "Release.gpg": detached} {
		if err := writeFileSync(filepath.Join(snap, name), data); err != nil {
			return err
		}
	}
	if err := syncDir(snap); err != nil {
		return err
	}
	snapRoot := filepath.Join(cfg.Dir, ".snapshots")
	link := filepath.Join(cfg.Dir, "dists", codename)
	target := filepath.Join("..", ".snapshots", filepath.Base(snap))
	tmpLink := link + ".new"
	os.Remove(tmpLink)
	if err := os.Symlink(target, tmpLink); err != nil {
		return err
	}
	if st, err := os.Lstat(link); err == nil && st.IsDir() {
		// A real directory from an older layout: move it aside first.
		if err := os.Rename(link, filepath.Join(snapRoot, "legacy-"+codename)); err != nil {
			return err
		}
	}
	if err := os.Rename(tmpLink, link); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(link)); err != nil {
		return err
	}
	pruneSnapshots(snapRoot, codename, filepath.Base(snap), filepath.Base(prevSnap))
	return nil
}

// carryByHash copies the previous snapshot's by-hash files into snap.
func carryByHash(prevDir, snap string) {
	_ = filepath.WalkDir(prevDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, string(filepath.Separator)+"by-hash"+string(filepath.Separator)) {
			return nil
		}
		rel, _ := filepath.Rel(prevDir, p)
		dst := filepath.Join(snap, rel)
		if _, err := os.Stat(dst); err == nil {
			return nil
		}
		_ = os.MkdirAll(filepath.Dir(dst), 0o755)
		_ = os.Link(p, dst)
		return nil
	})
}

// snapshotStamp is what follows "<codename>-" in a snapshot's name
// (prepareSnapshot): without it, bookworm's snapshots would take in
// bookworm-staging's.
var snapshotStamp = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-`)

// pruneSnapshots removes snapshots of codename other than cur and prev.
func pruneSnapshots(root, codename, cur, prev string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		n := e.Name()
		rest, ok := strings.CutPrefix(n, codename+"-")
		if ok && snapshotStamp.MatchString(rest) && n != cur && n != prev {
			os.RemoveAll(filepath.Join(root, n))
		}
	}
}

// writeKeyFiles publishes the public key (.asc and .gpg) and a deb822
// .sources file whose Signed-By embeds the key, so adding the repository
// on a host is one file copy.
func writeKeyFiles(cfg Config) error {
	asc, err := cfg.Signer.PublicKey(true)
	if err != nil {
		return err
	}
	bin, err := cfg.Signer.PublicKey(false)
	if err != nil {
		return err
	}
	files := map[string][]byte{cfg.KeyName + ".asc": asc, cfg.KeyName + ".gpg": bin}
	for _, rt := range cfg.releases() {
		files[cfg.SourcesName(rt.Codename)] = []byte(sourcesText(cfg, rt.Codename, asc))
	}
	for name, data := range files {
		if err := atomicfile.Write(filepath.Join(cfg.Dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sourcesText is the deb822 .sources file for cfg with the armored key
// asc inline as Signed-By.
func sourcesText(cfg Config, codename string, asc []byte) string {
	url := repoURL(cfg)
	var b strings.Builder
	if cfg.multi() {
		fmt.Fprintf(&b, "# %s for Debian/Ubuntu %s hosts: add with\n", cfg.Label, codename)
	} else {
		fmt.Fprintf(&b, "# %s: add with\n", cfg.Label)
	}
	fmt.Fprintf(&b, "#   cp %s /etc/apt/sources.list.d/ && apt-get update\n", cfg.SourcesName(codename))
	if fps := cfg.Signer.Fingerprints(); len(fps) > 1 {
		fmt.Fprintf(&b, "# Signing key fingerprints (rotation: current first): %s\n", strings.Join(fps, " "))
	} else {
		fmt.Fprintf(&b, "# Signing key fingerprint: %s\n", cfg.Signer.Fingerprint())
	}
	fmt.Fprintf(&b, "Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By:\n", url, codename, cfg.Component)
	for _, line := range strings.Split(strings.TrimRight(string(asc), "\n"), "\n") {
		if line == "" {
			b.WriteString(" .\n")
		} else {
			b.WriteString(" " + line + "\n")
		}
	}
	return b.String()
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := z.Write(b); err != nil {
		return nil, err
	}
	err := z.Close()
	return buf.Bytes(), err
}

func xzBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	z, err := xz.NewWriter(&buf)
	if err != nil {
		return nil, err
	}
	if _, err := z.Write(b); err != nil {
		return nil, err
	}
	err = z.Close()
	return buf.Bytes(), err
}

func writeFileSync(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Published returns the pool file of the newest published version of
// package pkg (architecture arch or all) that is not newer than version
// and belongs to the same release chain, and that version; "" when there
// is none. A version with a release suffix ("+deb13") chains to versions
// with that suffix and to unsuffixed ones (published before targets, they
// are in every release's index), never to another release's builds: what
// a trixie package lists as its predecessors must not depend on whether
// the bookworm build happened to be pooled first.
func Published(repoDir, component, pkg, arch, version string) (path, found string) {
	for m, v := range chainVersions(repoDir, component, pkg, arch, version) {
		if debian.CompareVersions(v, version) > 0 || (found != "" && debian.CompareVersions(v, found) <= 0) {
			continue
		}
		path, found = m, v
	}
	return path, found
}

// NewestPublished returns the newest published version of pkg in the
// release chain of version (see Published), whatever its order to version.
func NewestPublished(repoDir, component, pkg, arch, version string) string {
	found := ""
	for _, v := range chainVersions(repoDir, component, pkg, arch, version) {
		if found == "" || debian.CompareVersions(v, found) > 0 {
			found = v
		}
	}
	return found
}

// chainVersions maps each pool file of pkg (architecture arch or all) in
// the release chain of version to its version.
func chainVersions(repoDir, component, pkg, arch, version string) map[string]string {
	dir := filepath.Join(repoDir, filepath.Dir(PoolPath(component, pkg, "x")))
	matches, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	suffix := debian.ReleaseSuffixRe.FindString(version)
	out := map[string]string{}
	for _, m := range matches {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(m), ".deb"), "_")
		if len(parts) != 3 || (parts[2] != arch && parts[2] != "all") {
			continue
		}
		if s := debian.ReleaseSuffixRe.FindString(parts[1]); s != "" && s != suffix {
			continue
		}
		out[m] = parts[1]
	}
	return out
}
