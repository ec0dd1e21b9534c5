package spec

import (
	"fmt"
	"strings"

	"github.com/debforge/debforge/internal/debian"

	"gopkg.in/yaml.v3"
)

// Target is one release × architecture packages are built for.
type Target struct{ Release, Arch string }

func (t Target) String() string { return t.Release + "/" + t.Arch }

// Suffix is the version suffix of the target's release.
func (t Target) Suffix() string { return debian.Releases[t.Release].Suffix }

// ReleaseSettings are per-release settings in debforge.yaml.
type ReleaseSettings struct {
	// Mirror is the archive build roots of this release come from.
	// Default: the Debian mirror this host's apt uses. Required for an
	// Ubuntu release.
	Mirror string `yaml:"mirror"`
}

func knownReleases() string { return strings.Join(debian.ReleaseNames(), ", ") }

// ParseTarget reads "RELEASE/ARCH" and checks both parts are known.
func ParseTarget(s string) (Target, error) {
	rel, arch, ok := strings.Cut(s, "/")
	if !ok || rel == "" || arch == "" {
		return Target{}, fmt.Errorf("target %q: want RELEASE/ARCH, e.g. bookworm/arm64", s)
	}
	if _, known := debian.Releases[rel]; !known {
		return Target{}, fmt.Errorf("target %q: unknown release %q (known: %s)", s, rel, knownReleases())
	}
	found := false
	for _, a := range debian.BuildArchs {
		found = found || a == arch
	}
	if !found {
		return Target{}, fmt.Errorf("target %q: unknown architecture %q (known: %s)", s, arch, strings.Join(debian.BuildArchs, ", "))
	}
	return Target{Release: rel, Arch: arch}, nil
}

// checkTargets validates targets: and releases: of debforge.yaml and
// returns the parsed targets.
func checkTargets(p *problems, root *yaml.Node, r *Repo) []Target {
	var out []Target
	seq := child(root, "targets")
	seen := map[string]bool{}
	for i, s := range r.Targets {
		n := seq
		if seq != nil && i < len(seq.Content) {
			n = seq.Content[i]
		}
		t, err := ParseTarget(s)
		if err != nil {
			p.add(n, fmt.Sprintf("targets[%d]", i), "e.g. targets: [bookworm/amd64, bookworm/arm64, trixie/amd64]", "%s", err.Error())
			continue
		}
		if seen[s] {
			p.add(n, fmt.Sprintf("targets[%d]", i), "list each target once", "duplicate target %q", s)
			continue
		}
		seen[s] = true
		out = append(out, t)
	}
	for name, rs := range r.Releases {
		n := At(root, "releases", name)
		if _, known := debian.Releases[name]; !known {
			p.add(n, "releases."+name, "a release named in targets, e.g. releases: {noble: {mirror: http://archive.ubuntu.com/ubuntu}}", "unknown release %q (known: %s)", name, knownReleases())
			continue
		}
		if rs.Mirror != "" && !urlRe.MatchString(rs.Mirror) {
			p.add(At(n, "mirror"), "releases."+name+".mirror", "e.g. mirror: http://deb.debian.org/debian", "expected an http(s) or file URL without spaces, found %q", rs.Mirror)
		}
	}
	for _, t := range out {
		if debian.Releases[t.Release].Distro != "debian" && r.Releases[t.Release].Mirror == "" {
			p.add(seq, "targets", fmt.Sprintf("add releases: {%s: {mirror: URL-of-its-archive}}", t.Release),
				"%s is an %s release: its build roots need that archive's mirror", t.Release, debian.Releases[t.Release].Distro)
			break
		}
	}
	return out
}

// checkComponentTargets validates a spec's targets: and architectures:
// restrictions, and refuses a revision that already ends in a release
// suffix (debforge adds it per target).
func checkComponentTargets(p *problems, root *yaml.Node, c *Component) {
	item := func(key string, i int) *yaml.Node {
		seq := At(root, key)
		if seq != nil && seq.Kind == yaml.SequenceNode && i < len(seq.Content) {
			return seq.Content[i]
		}
		return seq
	}
	for i, s := range c.Targets {
		if _, err := ParseTarget(s); err != nil {
			p.add(item("targets", i), fmt.Sprintf("targets[%d]", i), "e.g. targets: [bookworm/amd64, trixie/amd64]", "%s", err.Error())
		}
	}
	for i, a := range c.Architectures {
		if !contains(debian.BuildArchs, a) {
			p.add(item("architectures", i), fmt.Sprintf("architectures[%d]", i), "e.g. architectures: [amd64]",
				"unknown architecture %q (known: %s)", a, strings.Join(debian.BuildArchs, ", "))
		}
	}
	if debian.ReleaseSuffixRe.MatchString(c.Revision) {
		p.add(At(root, "revision"), "revision", "write the revision alone, e.g. 1: debforge appends +deb12, +deb13, ... per target",
			"revision %q already ends in a release suffix", c.Revision)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SkipReason says why c is not built for t ("" when it is): its spec
// restricts it to other targets or architectures.
func (c *Component) SkipReason(t Target) string {
	if len(c.Targets) > 0 && !contains(c.Targets, t.String()) {
		return fmt.Sprintf("skipped for %s: %s builds only for targets %s", t, c.File, strings.Join(c.Targets, ", "))
	}
	if len(c.Architectures) > 0 && !contains(c.Architectures, t.Arch) {
		return fmt.Sprintf("skipped for %s: %s builds only for architectures %s", t, c.File, strings.Join(c.Architectures, ", "))
	}
	return ""
}

// ForTarget returns a copy of c whose packages carry t's release suffix
// after the revision ("2.4.2-1+deb12"), so DebVersion, the changelog and
// {{.DebVersion}} in relations all name the version published for t.
func (c *Component) ForTarget(t Target) *Component {
	out := *c
	out.Revision = c.Revision + t.Suffix()
	return &out
}
