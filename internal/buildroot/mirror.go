package buildroot

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// aptEntry is one "deb" source of the host's apt configuration.
type aptEntry struct {
	uri, suite string
}

// MirrorLines returns the sources.list lines a root of release is made
// from. With mirror set (debforge.yaml "mirror:") that mirror serves the
// release and its -updates suite; otherwise the host's own apt sources are
// reused with the host's codename replaced by release, so the root comes
// from the same mirror (and security archive) the host already trusts.
func MirrorLines(release, mirror string) ([]string, error) {
	if mirror != "" {
		return []string{
			fmt.Sprintf("deb %s %s main", mirror, release),
			fmt.Sprintf("deb %s %s-updates main", mirror, release),
		}, nil
	}
	host, err := HostRelease()
	if err != nil {
		return nil, err
	}
	entries, err := hostSources("/etc/apt")
	if err != nil {
		return nil, err
	}
	var lines []string
	seen := map[string]bool{}
	for _, e := range entries {
		suite, ok := strings.CutPrefix(e.suite, host)
		if !ok || (suite != "" && !strings.HasPrefix(suite, "-")) {
			continue
		}
		l := fmt.Sprintf("deb %s %s%s main", e.uri, release, suite)
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no Debian mirror for %s in /etc/apt/sources.list{,.d}: set mirror: in debforge.yaml", host)
	}
	return lines, nil
}

// hostSources reads "deb" entries from sources.list, *.list and *.sources.
func hostSources(etc string) ([]aptEntry, error) {
	var out []aptEntry
	files := []string{filepath.Join(etc, "sources.list")}
	for _, pat := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join(etc, "sources.list.d", pat))
		sort.Strings(m)
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.HasSuffix(f, ".sources") {
			out = append(out, parseDeb822Sources(string(data))...)
		} else {
			out = append(out, parseOneLine(string(data))...)
		}
	}
	return out, nil
}

func parseOneLine(text string) []aptEntry {
	var out []aptEntry
	s := bufio.NewScanner(strings.NewReader(text))
	for s.Scan() {
		f := strings.Fields(strings.SplitN(s.Text(), "#", 2)[0])
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		if strings.HasPrefix(f[1], "[") { // options: deb [signed-by=...] URI suite
			for len(f) > 1 && !strings.HasSuffix(f[1], "]") {
				f = append(f[:1], f[2:]...)
			}
			f = append(f[:1], f[2:]...)
		}
		if len(f) >= 3 {
			out = append(out, aptEntry{uri: f[1], suite: f[2]})
		}
	}
	return out
}

func parseDeb822Sources(text string) []aptEntry {
	var out []aptEntry
	for _, para := range strings.Split(text, "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(para, "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if !strings.Contains(" "+fields["types"]+" ", " deb ") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, u := range strings.Fields(fields["uris"]) {
			for _, s := range strings.Fields(fields["suites"]) {
				out = append(out, aptEntry{uri: u, suite: s})
			}
		}
	}
	return out
}
