package debian

import (
	"regexp"
	"unicode"
)

var (
	// PackageNameRe is a package name (policy 5.6.1): lower case letters,
	// digits, + - . ; at least two characters, starting with an
	// alphanumeric.
	PackageNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	// SuiteRe is a suite, codename or component name, a directory under
	// dists/: what apt and Debian's archive tools accept, and never "."
	// or "..".
	SuiteRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]*$`)
	// ArchRe is an architecture name (dpkg-architecture -L).
	ArchRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// BadChar returns the first control character in s, which would start a
// field of its own in a deb822 file (a control file, Release, .sources):
// a newline counts unless multi is set (tabs and newlines are allowed in
// multi-line text, which is written folded). -1 when there is none.
func BadChar(s string, multi bool) rune {
	for _, r := range s {
		if multi && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			return r
		}
	}
	return -1
}
