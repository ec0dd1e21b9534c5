package pkgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/debforge/debforge/internal/execx"
)

// targetLists are one target's package lists for a run (the release's
// from the mirror, the repository's), fetched once by apt-get update,
// and apt's cache of them: every install on the target reads both from
// here, outside the tree, where no test reaches them. An update per
// package fetched the same 16 MB again each time (2.5 s of the few
// seconds a package's test costs), and parsing them again took 0.8 s.
type targetLists struct {
	once sync.Once
	// dir is apt's state and cache for the update (readOnlyApt): the
	// lists and its cache of them; output is apt-get update's, which
	// every tree's log repeats.
	dir    string
	output []byte
	err    error
}

// lists returns t's lists for this run, fetching them on first use.
func (tr *Tester) lists(ctx context.Context, t Target, root string) (*targetLists, error) {
	tr.mu.Lock()
	if tr.fetched == nil {
		tr.fetched = map[string]*targetLists{}
	}
	l := tr.fetched[t.String()]
	if l == nil {
		l = &targetLists{}
		tr.fetched[t.String()] = l
	}
	tr.mu.Unlock()
	l.once.Do(func() { l.err = l.fetch(ctx, tr, t, root) })
	return l, l.err
}

// fetch runs apt-get update for the clean root of t (read only: apt's
// state and cache go beside it) with the repository's source added.
func (l *targetLists) fetch(ctx context.Context, tr *Tester, t Target, root string) error {
	dir, err := tr.workDir("lists-", t)
	if err != nil {
		return err
	}
	source, err := tr.repoSource(t)
	if err != nil {
		return err
	}
	apt, env, err := readOnlyApt(dir, root, t, map[string][]byte{"sources/debforge-test.sources": source})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := execx.RunLogged(ctx, tr.Runner, execx.Cmd{Args: append(apt, "update", "-q"), Env: env}, &out); err != nil {
		l.output = out.Bytes()
		return fmt.Errorf("apt-get update for %s: %w", t, err)
	}
	l.dir, l.output = dir, out.Bytes()
	return nil
}

// aptOptions point an apt working on a tree at the lists and their
// cache, and repeat apt-get update's output in log.
func (l *targetLists) aptOptions(log io.Writer) []string {
	fmt.Fprintf(log, "== the package lists, fetched once for this run:\n%s", l.output)
	return []string{"-o", "Dir::State::Lists=" + filepath.Join(l.dir, "state", "lists"),
		"-o", "Dir::Cache::srcpkgcache=" + filepath.Join(l.dir, "cache", "srcpkgcache.bin")}
}

// Close removes the lists fetched for the run.
func (tr *Tester) Close() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, l := range tr.fetched {
		if l.dir != "" {
			os.RemoveAll(l.dir)
		}
	}
	tr.fetched = nil
}

// readOnlyApt writes, under dir, apt's configuration for working on
// root without writing to it (its lists, cache and logs go to dir; its
// sources, keys and dpkg status are read) with files added under dir,
// and returns the apt-get command line and environment.
func readOnlyApt(dir, root string, t Target, files map[string][]byte) ([]string, []string, error) {
	for _, d := range []string{"parts", "sources", "state/lists/partial", "cache/archives/partial", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, nil, err
		}
	}
	files["apt.conf"] = []byte(fmt.Sprintf(aptConf, filepath.Join(dir, "parts")))
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, nil, err
		}
	}
	apt := []string{"apt-get", "-o", "Dir=" + root,
		"-o", "Dir::State=" + filepath.Join(dir, "state"), "-o", "Dir::State::status=" + filepath.Join(root, "var/lib/dpkg/status"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"), "-o", "Dir::Log=" + filepath.Join(dir, "log"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(dir, "sources"),
		"-o", "APT::Architecture=" + t.Arch, "-o", "APT::Architectures::=" + t.Arch, "-o", "Acquire::Languages=none"}
	env := []string{"APT_CONFIG=" + filepath.Join(dir, "apt.conf"), "LC_ALL=C.UTF-8", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	return apt, env, nil
}
