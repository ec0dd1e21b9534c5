// Package debian is debforge's one Debian vocabulary: package, suite and
// architecture names, versions and their order, the relations of a binary
// package, the architectures debforge knows (GNU triplet, GOARCH,
// qemu-user name), the releases it builds for with their version
// suffixes, and the questions packaging asks of a built ELF file (is it
// one, does it link shared libraries, has it symbols, is it Go). Every
// other package asks here instead of keeping its own
// table or regular expression.
//
// Version ordering and relation parsing come from pault.ag/go/debian, the
// Go library Debian's own tooling in Go uses, kept up to date and tested
// against dpkg's algorithm: its version.Compare replaces a port of
// verrevcmp debforge kept by hand. Ours stay where the library answers a
// different question:
//   - CheckVersion: the library's Parse accepts what dpkg parses, but its
//     messages do not say which part is wrong; a spec's author needs
//     "the Debian revision "1_2" may hold only letters, digits and + . ~".
//   - CheckRelation: the library parses the Build-Depends grammar
//     (architecture lists, build profiles), which a binary package's
//     fields must not carry (apt cannot parse them there); we refuse those
//     forms by name.
package debian
