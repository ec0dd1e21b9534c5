package debian

import (
	"maps"
	"regexp"
	"slices"
)

// Release is a distribution release debforge can build for and publish:
// its build roots come from Distro's archive and its packages carry
// Suffix after the Debian revision.
type Release struct {
	Codename, Distro string
	// Suffix follows the Debian revision of every package built for the
	// release ("2.4.2-1+deb12"), so the builds of several releases share
	// one pool and a host upgraded to the next release upgrades them:
	// "+deb12" < "+deb13", and both sort above the unsuffixed "2.4.2-1"
	// published before targets existed (a "~deb12" suffix would sort
	// below it, and such hosts would keep the old build).
	Suffix string
}

// Releases are the releases a target may name, by codename. Ubuntu's
// archive is not the host's: an Ubuntu release needs its mirror named.
var Releases = map[string]Release{
	"bookworm": {"bookworm", "debian", "+deb12"},
	"trixie":   {"trixie", "debian", "+deb13"},
	"forky":    {"forky", "debian", "+deb14"},
	"noble":    {"noble", "ubuntu", "+ubuntu24.04"},
	"resolute": {"resolute", "ubuntu", "+ubuntu26.04"},
}

// ReleaseSuffixRe matches a version that carries a release suffix.
var ReleaseSuffixRe = regexp.MustCompile(`\+(deb[0-9]+|ubuntu[0-9]+\.[0-9]+)$`)

// ReleaseOfVersion returns the release whose suffix a Debian version ends
// in ("2.4.2-1+deb13" is trixie's); false for a version without one.
func ReleaseOfVersion(v string) (Release, bool) {
	suffix := ReleaseSuffixRe.FindString(v)
	if suffix == "" {
		return Release{}, false
	}
	for _, r := range Releases {
		if r.Suffix == suffix {
			return r, true
		}
	}
	return Release{}, false
}

// ReleaseNames lists the codenames of Releases, sorted.
func ReleaseNames() []string {
	return slices.Sorted(maps.Keys(Releases))
}
