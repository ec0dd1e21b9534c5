package debian

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"

	"pault.ag/go/debian/version"
)

// RevisionRe is a Debian revision: letters, digits and + . ~.
var RevisionRe = regexp.MustCompile(`^[A-Za-z0-9.+~]+$`)

// CompareVersions orders Debian versions as dpkg does (policy 5.6.12):
// -1 when a sorts before b, 0 when equal, +1 after. A
// version dpkg would not parse sorts by its text, after every valid one:
// debforge writes only valid versions, and a stray file in a pool must
// not stop a publish.
func CompareVersions(a, b string) int {
	va, errA := version.Parse(a)
	vb, errB := version.Parse(b)
	switch {
	case errA == nil && errB == nil:
		return cmp.Compare(version.Compare(va, vb), 0)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// CheckVersion checks a Debian version as dpkg parses it (policy 5.6.12):
// [epoch:]upstream[-revision], the epoch digits, the upstream version
// starting with a digit, neither part empty; the error says which part
// is wrong and what it may hold.
func CheckVersion(v string) error {
	rest := v
	if epoch, after, ok := strings.Cut(v, ":"); ok {
		if epoch == "" || strings.Trim(epoch, "0123456789") != "" {
			return fmt.Errorf("%q: the epoch before ':' must be digits", v)
		}
		rest = after
	}
	upstream, revision := rest, ""
	if i := strings.LastIndex(rest, "-"); i >= 0 {
		upstream, revision = rest[:i], rest[i+1:]
		if revision == "" {
			return fmt.Errorf("%q: nothing after '-' (the Debian revision is empty)", v)
		}
		if !RevisionRe.MatchString(revision) {
			return fmt.Errorf("%q: the Debian revision %q may hold only letters, digits and + . ~", v, revision)
		}
	}
	switch {
	case upstream == "":
		return fmt.Errorf("%q: the upstream version is empty", v)
	case upstream[0] < '0' || upstream[0] > '9':
		return fmt.Errorf("%q: the upstream version must start with a digit", v)
	case strings.Trim(upstream, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~-:") != "":
		return fmt.Errorf("%q: the upstream version may hold only letters, digits and . + ~ - :", v)
	}
	return nil
}
