package aptrepo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/debforge/debforge/internal/packaging/debfile"
)

// BadFile is a pool file that publish left out of the index.
type BadFile struct {
	Path string // relative to the repository root
	Err  error
}

// BadPoolError lists the pool files publish refused to index. The rest of
// the pool was published.
type BadPoolError struct{ Files []BadFile }

func (e *BadPoolError) Error() string {
	var b strings.Builder
	for i, f := range e.Files {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "publish: %s left out of the index: %v (delete it from the pool, or rebuild it with a new revision)", f.Path, f.Err)
	}
	return b.String()
}

// scanPool reads every .deb under pool/ in parallel, like Scan, but a
// file that cannot be read is returned in bad instead of failing the scan.
// A file not listed in trusted (Filename -> SHA256 of the index being
// replaced) with the same hash is verified in full with VerifyDeb first:
// what is indexed now must install.
func scanPool(repoDir string, trusted map[string]string) (pkgs []*Package, bad []BadFile, err error) {
	paths, err := PoolFiles(repoDir)
	if err != nil {
		return nil, nil, err
	}
	all := make([]*Package, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU()*2)
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pkg, err := readPackage(repoDir, p)
			if err == nil && trusted[pkg.Filename] != pkg.SHA256 {
				err = VerifyDeb(p)
			}
			all[i], errs[i] = pkg, err
		}()
	}
	wg.Wait()
	for i, p := range paths {
		if errs[i] != nil {
			rel, _ := filepath.Rel(repoDir, p)
			bad = append(bad, BadFile{Path: filepath.ToSlash(rel), Err: unwrapIndex(errs[i], p)})
			continue
		}
		pkgs = append(pkgs, all[i])
	}
	return pkgs, bad, nil
}

// unwrapIndex drops readPackage's "index <path>: " prefix, which BadFile
// already carries.
func unwrapIndex(err error, p string) error {
	if msg, ok := strings.CutPrefix(err.Error(), "index "+p+": "); ok {
		return errors.New(msg)
	}
	return err
}

// PoolFiles lists the .deb files in repoDir's pool, in lexical order;
// none when there is no pool yet.
func PoolFiles(repoDir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(filepath.Join(repoDir, "pool"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".deb") {
			paths = append(paths, p)
		}
		return nil
	})
	return paths, err
}

// indexEntry is what an index says of one pool file.
type indexEntry struct {
	size   int64
	sha256 string
}

// publishedIndex reads the Packages files the current Release of codename
// lists, after checking each against Release's size and SHA256, and
// returns what they say of the pool. Any problem is an error.
func publishedIndex(repoDir, codename string) (map[string]indexEntry, error) {
	dists := filepath.Join(repoDir, "dists", codename)
	release, err := os.ReadFile(filepath.Join(dists, "Release"))
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"InRelease", "Release.gpg"} {
		if st, err := os.Stat(filepath.Join(dists, name)); err != nil {
			return nil, err
		} else if st.Size() == 0 {
			return nil, fmt.Errorf("%s is empty", name)
		}
	}
	listed, err := releaseSHA256(release)
	if err != nil {
		return nil, err
	}
	index := map[string]indexEntry{}
	for _, rel := range sortedKeys(boolKeys(listed)) {
		want := listed[rel]
		data, err := os.ReadFile(filepath.Join(dists, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("Release lists %s: %w", rel, err)
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != want.size || hex.EncodeToString(sum[:]) != want.sha256 {
			return nil, fmt.Errorf("%s does not match its SHA256 in Release", rel)
		}
		if path.Base(rel) != "Packages" {
			continue
		}
		for _, stanza := range bytes.Split(data, []byte("\n\n")) {
			var e indexEntry
			var file string
			for _, f := range debfile.ParseFields(stanza) {
				switch f.Name {
				case "Filename":
					file = f.Value
				case "Size":
					e.size, _ = strconv.ParseInt(f.Value, 10, 64)
				case "SHA256":
					e.sha256 = f.Value
				}
			}
			if file != "" {
				index[file] = e
			}
		}
	}
	return index, nil
}

// releaseSHA256 parses the SHA256 section of a Release file.
func releaseSHA256(release []byte) (map[string]indexEntry, error) {
	out := map[string]indexEntry{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(release))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			in = line == "SHA256:"
			continue
		}
		if !in {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("Release: malformed SHA256 line %q", line)
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("Release: malformed SHA256 line %q", line)
		}
		out[f[2]] = indexEntry{size: size, sha256: f[0]}
	}
	if len(out) == 0 {
		return nil, errors.New("Release lists no files")
	}
	return out, nil
}

func boolKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// trustedIndex returns Filename -> SHA256 of the current index, or nothing
// when there is no sound one (everything is then verified).
func trustedIndex(repoDir, codename string) map[string]string {
	index, err := publishedIndex(repoDir, codename)
	if err != nil {
		return nil
	}
	out := make(map[string]string, len(index))
	for f, e := range index {
		out[f] = e.sha256
	}
	return out
}

// Consistent checks that the published repository matches its pool: a
// Release with InRelease and Release.gpg beside it, every index Release
// lists present with its size and hash, and the Packages files naming
// exactly the .debs in pool/ with their sizes, and the key files. It
// stats the pool rather than hashing it (pool files never change under
// their name: AddToPool refuses that), so it is cheap enough to run on
// every build. The error lists what does not match.
func Consistent(repoDir, codename, keyName string) error {
	return consistent(repoDir, []string{codename}, keyName, []string{keyName + ".sources"})
}

// ConsistentReleases is Consistent for a repository of several releases
// (Config.Releases): every pool file is in at least one release's index,
// except those built for a release no longer published (Stray: named by
// their file's version), and each release has its own
// <key_name>-<codename>.sources.
func ConsistentReleases(repoDir string, rels []ReleaseTarget, keyName string) error {
	cfg := Config{KeyName: keyName, Releases: rels}
	var sources, codenames []string
	for _, rt := range rels {
		codenames = append(codenames, rt.Codename)
		sources = append(sources, cfg.SourcesName(rt.Codename))
	}
	stray := func(file string) bool {
		parts := strings.Split(strings.TrimSuffix(path.Base(file), ".deb"), "_")
		return len(parts) == 3 && cfg.Stray(&Package{Version: parts[1]})
	}
	return consistent(repoDir, codenames, keyName, sources, stray)
}

func consistent(repoDir string, codenames []string, keyName string, sources []string, stray ...func(string) bool) error {
	index := map[string]indexEntry{}
	for _, codename := range codenames {
		idx, err := publishedIndex(repoDir, codename)
		if err != nil {
			return fmt.Errorf("dists/%s: %w", codename, err)
		}
		for f, e := range idx {
			index[f] = e
		}
	}
	paths, err := PoolFiles(repoDir)
	if err != nil {
		return err
	}
	var problems []string
	inPool := map[string]bool{}
	for _, p := range paths {
		rel, _ := filepath.Rel(repoDir, p)
		rel = filepath.ToSlash(rel)
		inPool[rel] = true
		e, ok := index[rel]
		if !ok && len(stray) > 0 && stray[0](rel) {
			continue
		}
		if !ok {
			problems = append(problems, rel+" is in the pool but not in the index")
			continue
		}
		if st, err := os.Stat(p); err != nil || st.Size() != e.size {
			problems = append(problems, rel+" differs in size from the index")
		}
	}
	for f := range index {
		if !inPool[f] {
			problems = append(problems, f+" is in the index but missing from the pool")
		}
	}
	for _, name := range append([]string{keyName + ".asc", keyName + ".gpg"}, sources...) {
		if _, err := os.Stat(filepath.Join(repoDir, name)); err != nil {
			problems = append(problems, name+" is missing")
		}
	}
	// The front page (a link into the snapshot) and its stylesheet: a
	// repository published before the page existed gets one.
	files := []string{PageFile, CSSFile}
	for _, codename := range codenames {
		files = append(files, path.Join("dists", codename, PageFile))
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(repoDir, filepath.FromSlash(f))); err != nil {
			problems = append(problems, f+" is missing")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
