// Package spec defines the YAML format of a debforge component spec, loads it
// strictly (unknown keys and wrong types are errors) and validates it,
// reporting every problem with its file, line and column.
//
// The package never executes anything and never writes files.
package spec

import "gopkg.in/yaml.v3"

// Component is one spec file: one upstream component built into one Debian
// package. A component with neither Source nor Build is a meta-package.
type Component struct {
	// Name identifies the component on the command line. Required; a valid
	// Debian package name. It is also the default package name.
	Name string `yaml:"name"`
	// Version is the upstream version, e.g. "1.5.3". Required.
	Version string `yaml:"version"`
	// Revision is the Debian revision appended as "-REV". Default "1".
	Revision string `yaml:"revision"`
	// Summary is the one-line package synopsis. Required, at most 80 chars.
	Summary string `yaml:"summary"`
	// Description is the extended description. Required.
	Description string `yaml:"description"`
	// License is an SPDX identifier. Required.
	License string `yaml:"license"`
	// LicenseFile is a path inside the source tree whose text goes into the
	// copyright file (for licenses not in /usr/share/common-licenses).
	LicenseFile string `yaml:"license_file"`
	// Copyright names the copyright holders. Default "The <name> authors".
	Copyright string `yaml:"copyright"`
	// CopyrightFiles are the parts of the source under other licenses or
	// holders than license and copyright, each a Files stanza of the
	// package's copyright file after the one for "*".
	CopyrightFiles []CopyrightFiles `yaml:"copyright_files"`
	// Homepage is the upstream URL. Optional.
	Homepage string `yaml:"homepage"`
	// Maintainer overrides the repository-wide default from debforge.yaml.
	Maintainer string `yaml:"maintainer"`
	// Date (RFC 3339) is when this revision was made: its changelog
	// entry's date. bump sets it; raise it with the revision by hand.
	// Unset, the entry is dated from the source (source.date).
	Date string `yaml:"date"`
	// Changes is the text of this revision's changelog entry.
	// Default "Build <version> from upstream source with debforge."
	Changes string `yaml:"changes"`
	// After lists other components that must be built first (build order
	// only; package relationships go in package.depends).
	After []string `yaml:"after"`
	// Targets restricts the component to these RELEASE/ARCH targets of
	// debforge.yaml; other targets skip it and say so. Default: all.
	Targets []string `yaml:"targets"`
	// Architectures restricts the component to these architectures (e.g.
	// a tool with no arm64 port). Default: all.
	Architectures []string `yaml:"architectures"`

	Source  *Source  `yaml:"source"`
	Build   *Build   `yaml:"build"`
	Package *Package `yaml:"package"`
	// Limits bound what the build may use (defaults in DefaultLimits).
	Limits Limits `yaml:"limits"`
	// Tests run against the published package, installed by apt into a
	// clean root of each target it is built for (debforge test).
	Tests []Test `yaml:"tests"`

	// File is the path the spec was loaded from; Dir is its directory.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`
	// root is the parsed node tree, for positions in checks across files.
	root *yaml.Node
}

// Source says where the upstream code comes from. Exactly one of GoModule,
// Tarball, Git or Dir is set.
type Source struct {
	// GoModule is an exact "module@version" fetched from the Go module proxy.
	GoModule string `yaml:"go_module"`
	// Sum is the module's pinned go.sum hash ("h1:..."), required with go_module.
	Sum string `yaml:"sum"`
	// Tarball is an http(s) URL of a source archive (.tar.gz, .tar.xz, ...).
	Tarball string `yaml:"tarball"`
	// SHA256 is the archive's pinned hex digest, required with tarball.
	SHA256 string `yaml:"sha256"`
	// StripComponents drops leading path elements of archive entries. Default 1.
	StripComponents *int `yaml:"strip_components"`
	// Git is a repository URL; Tag and Commit (40 hex digits) are required.
	Git string `yaml:"git"`
	Tag string `yaml:"tag"`
	// Commit pins the exact revision (git) or records it for templates
	// ({{.Commit}}) when the Go module proxy does not report one.
	Commit string `yaml:"commit"`
	// Dir is a local directory, relative to the spec file.
	Dir string `yaml:"dir"`
	// Exclude lists paths of a dir source (relative to it) that are
	// neither copied nor part of its cache identity: build output such as
	// out/ or bin/ of the tree the spec lives in.
	Exclude []string `yaml:"exclude"`
	// Delete removes files from the source tree (relative paths) before
	// patches apply: dropping a file needs no copy of its text in a patch.
	Delete []string `yaml:"delete"`
	// Patches are applied in order with "git apply", relative to the spec file.
	Patches []string `yaml:"patches"`
	// Watch finds a tarball's upstream versions, like uscan: a page and a
	// regexp over it whose first group is a version. Optional.
	Watch *Watch `yaml:"watch"`
	// Track says which upstream versions 'debforge outdated' and 'bump'
	// consider: release (default; pre-releases ignored) or prerelease.
	Track string `yaml:"track"`
	// Date (RFC 3339) is the source's release date, used as the mtime of every
	// file in the .deb when SOURCE_DATE_EPOCH is not set.
	Date string `yaml:"date"`
}

// Test is one check of an installed package, like an autopkgtest: a
// shell command run in a clean root of the target where apt installed
// the package (and what the command needs) from the published suite.
type Test struct {
	// Name identifies the test in results and logs. Required, unique in
	// the spec: lower case letters, digits and '-'.
	Name string `yaml:"name"`
	// Run is the shell command (sh -e -c); exit status 0 passes.
	Run string `yaml:"run"`
	// Needs lists Debian packages the command needs besides the package.
	Needs []string `yaml:"needs"`
	// Root runs the command as root; by default it runs as an
	// unprivileged user with a home directory.
	Root bool `yaml:"root"`
	// Native says the command needs the target's own CPU and kernel
	// interface (it makes namespaces, which qemu-user cannot emulate):
	// on a target this host emulates it is not run, and says so.
	Native bool `yaml:"native"`
}

// Watch is where a tarball's releases are listed.
type Watch struct {
	// URL is the http(s) page that lists the release archives.
	URL string `yaml:"url"`
	// Regexp matches each archive on the page; its first group is the
	// upstream version.
	Regexp string `yaml:"regexp"`
}

// Build says how to compile the source into a staging tree.
type Build struct {
	// Kind names the builder: autotools, go, make or script. Required.
	Kind string `yaml:"kind"`
	// BuildDepends lists the Debian packages the build needs.
	BuildDepends []string `yaml:"build_depends"`
	// Env adds variables to every build command ("{{.Version}}" expands).
	Env map[string]string `yaml:"env"`

	// go: the binaries to build; Tags, Ldflags and Cgo are defaults for each.
	Binaries []GoBinary `yaml:"binaries"`
	Tags     []string   `yaml:"tags"`
	Ldflags  []string   `yaml:"ldflags"`
	Cgo      *bool      `yaml:"cgo"`

	// make: targets to run (default "all"), the install target (default
	// "install", run with DESTDIR), and variables passed on the command line.
	Targets       []string          `yaml:"targets"`
	InstallTarget string            `yaml:"install_target"`
	Vars          map[string]string `yaml:"vars"`

	// autotools: extra ./configure flags (--prefix=/usr is always given).
	// vars are passed to its make commands too.
	ConfigureFlags []string `yaml:"configure_flags"`

	// Hardening says what an ELF file built by make, autotools or script
	// that lacks a hardening feature does to the build. By default one
	// that lacks a linker feature (PIE, relro, bindnow: the flags asked
	// for them, so a Makefile dropped them) fails the build, and one that
	// lacks stack protector or fortify (which a program without arrays or
	// fortifiable calls lacks too) is a warning. "strict" fails on every
	// feature; "warn" only warns, and needs HardeningReason.
	Hardening string `yaml:"hardening"`
	// HardeningReason says why hardening: warn is right for this build.
	HardeningReason string `yaml:"hardening_reason"`

	// script: shell steps run with $SRC, $DESTDIR and $WORK set.
	Steps []string `yaml:"steps"`

	// go: shell steps run after the binaries are built, as script steps
	// are (e.g. build man pages with go-md2man or help2man).
	PostSteps []string `yaml:"post_steps"`
}

// PureGo says whether b is a go build with cgo off for every binary: its
// compile depends on no build root (nil: no build, not pure Go).
func (b *Build) PureGo() bool {
	if b == nil || b.Kind != "go" || (b.Cgo != nil && *b.Cgo) {
		return false
	}
	for _, bin := range b.Binaries {
		if bin.Cgo != nil && *bin.Cgo {
			return false
		}
	}
	return true
}

// GoBinary is one main package built by the go builder.
type GoBinary struct {
	// Main is the package directory relative to the module root ("./cmd/x").
	Main string `yaml:"main"`
	// Dst is the absolute install path inside the package ("/usr/bin/x").
	Dst string `yaml:"dst"`
	// Tags, Ldflags and Cgo override the build-level defaults.
	Tags    []string `yaml:"tags"`
	Ldflags []string `yaml:"ldflags"`
	Cgo     *bool    `yaml:"cgo"`
	// Static links a cgo binary statically (-extldflags -static-pie).
	Static bool `yaml:"static"`
}

// Package holds the Debian package's metadata and extra contents.
type Package struct {
	// Name defaults to the component name.
	Name string `yaml:"name"`
	// Section defaults to "admin"; Priority to "optional".
	Section  string `yaml:"section"`
	Priority string `yaml:"priority"`
	// Architecture is "any" (the build host's, default) or "all".
	// Meta-packages are always "all".
	Architecture string `yaml:"architecture"`

	Depends    []string `yaml:"depends"`
	PreDepends []string `yaml:"pre_depends"`
	Recommends []string `yaml:"recommends"`
	Suggests   []string `yaml:"suggests"`
	Conflicts  []string `yaml:"conflicts"`
	Breaks     []string `yaml:"breaks"`
	Replaces   []string `yaml:"replaces"`
	Provides   []string `yaml:"provides"`

	// Contents adds files from the source tree (or plain directories and
	// symlinks) to what the builder installed.
	Contents []Content `yaml:"contents"`
	// Scripts are maintainer-script snippets from postinst/ templates.
	Scripts []Script `yaml:"scripts"`
	// LintianOverrides are shipped in /usr/share/lintian/overrides/<pkg>.
	LintianOverrides []LintianOverride `yaml:"lintian_overrides"`
	// MultiArch is the package's Multi-Arch field: foreign (a tool whose
	// interface does not depend on its architecture), same (a library
	// co-installable for several architectures) or allowed. Default: none.
	MultiArch string `yaml:"multi_arch"`
	// Exclude lists paths of what the build installed that the package
	// leaves out (like debian/not-installed): absolute glob patterns
	// (path.Match), a directory's pattern leaving out all below it.
	Exclude []string `yaml:"exclude"`
	// NotConffiles lists files under /etc that are not conffiles. Every
	// other regular file under /etc is one (policy 10.7.2), whether the
	// build installed it or contents added it: an upgrade keeps the
	// admin's edits.
	NotConffiles []string `yaml:"not_conffiles"`
	// Compression of data.tar: gzip (default), xz, zstd or none. gzip is
	// the default because nfpm's pure-Go xz is about ten times slower.
	Compression string `yaml:"compression"`
}

// Content maps one file of the source tree to a path in the package.
type Content struct {
	// Src is relative to the source tree (required for files and symlink targets).
	Src string `yaml:"src"`
	// Dst is the absolute path in the package. Required.
	Dst string `yaml:"dst"`
	// Type is file (default), dir or symlink (Src is then the link target).
	Type string `yaml:"type"`
	// Mode is an octal string; default 0644, or 0755 for executables.
	Mode string `yaml:"mode"`
	// Conffile marks the file as a dpkg conffile (only under /etc).
	Conffile bool `yaml:"conffile"`
	// Replace rewrites text in the file, e.g. /usr/local/bin -> /usr/bin.
	Replace []Replacement `yaml:"replace"`
	// AllowUnsafeMode is the reason a setuid, setgid or world-writable Mode
	// is right. Without it such a mode is refused.
	AllowUnsafeMode string `yaml:"allow_unsafe_mode"`
}

// Replacement is one literal text substitution.
type Replacement struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// Script selects a maintainer-script template and its variables.
type Script struct {
	Template string            `yaml:"template"`
	Vars     map[string]string `yaml:"vars"`
}

// LintianOverride silences one lintian tag, with the reason it is right.
type LintianOverride struct {
	Tag    string `yaml:"tag"`
	Reason string `yaml:"reason"`
}

// Repo is the repository-wide configuration in <specs>/debforge.yaml.
type Repo struct {
	// Maintainer is the default Maintainer of every package. Required.
	Maintainer string `yaml:"maintainer"`
	// Origin and Label go into the Release file. Default "debforge".
	Origin string `yaml:"origin"`
	Label  string `yaml:"label"`
	// Suite and Codename of the published distribution. Default "stable"
	// and "debforge".
	Suite    string `yaml:"suite"`
	Codename string `yaml:"codename"`
	// Component of the archive. Default "main".
	Component string `yaml:"component"`
	// Description goes into the Release file.
	Description string `yaml:"description"`
	// Keep is how many versions of each package stay in the pool. Default 3.
	Keep int `yaml:"keep"`
	// ValidDays, when set, adds Valid-Until = Date + ValidDays to Release.
	ValidDays int `yaml:"valid_days"`
	// Targets are the releases × architectures built and published, as
	// RELEASE/ARCH ("bookworm/arm64"): one dists/<release> each, with a
	// binary-<arch> index per architecture. Default: none, which keeps one
	// distribution (Codename) built for this host.
	Targets []string `yaml:"targets"`
	// Staging, when set, publishes what build makes into a staging
	// suite per release (dists/<release>-staging) and only what
	// debforge promote moved there into the release's own suite, which
	// hosts follow by default. It needs targets.
	Staging bool `yaml:"staging"`
	// Releases holds per-release settings (a mirror), keyed by codename.
	Releases map[string]ReleaseSettings `yaml:"releases"`
	// TargetList is Targets parsed (set by LoadRepo).
	TargetList []Target `yaml:"-"`
	// KeyName names the published public key files (<key_name>.asc/.gpg)
	// and the keyring package. Default "debforge-archive-keyring".
	KeyName string `yaml:"key_name"`
	// URL is where hosts reach the repository; it goes into the .sources file.
	URL string `yaml:"url"`
	// GoToolchain pins the Go toolchain builds use (required when a spec
	// has a go build): fetched as the golang.org/toolchain module.
	GoToolchain *GoToolchain `yaml:"go_toolchain"`
	// Mirror is the Debian mirror build roots are made from. Default: the
	// mirror this host's apt uses.
	Mirror string `yaml:"mirror"`

	File string `yaml:"-"`
}

// GoToolchain is a Go release and its pinned module hash per architecture.
type GoToolchain struct {
	// Version is a Go release, e.g. "1.26.8". Required.
	Version string `yaml:"version"`
	// Sums maps a Go architecture (amd64, arm64) to the h1: hash of
	// golang.org/toolchain@v0.0.1-go<version>.linux-<arch>. Required for
	// every architecture built for.
	Sums map[string]string `yaml:"sums"`
}

// IsMeta reports whether the component builds nothing: a meta-package.
func (c *Component) IsMeta() bool { return c.Source == nil && c.Build == nil }

// ArchAll reports whether c's package is Architecture: all, one .deb for
// every architecture (a meta-package's always is).
func (c *Component) ArchAll() bool {
	return c.IsMeta() || (c.Package != nil && c.Package.Architecture == "all")
}

// DebVersion is the full Debian version "<upstream>-<revision>".
func (c *Component) DebVersion() string { return c.Version + "-" + c.Revision }

// Pos is the line and column of the field at keys in c's spec file (the
// nearest existing parent's when it is missing; 1:1 without one).
func (c *Component) Pos(keys ...string) (line, col int) {
	if c.root == nil {
		return 1, 1
	}
	n := At(c.root, keys...)
	return n.Line, n.Column
}

// PackageName is the Debian package name.
func (c *Component) PackageName() string {
	if c.Package != nil && c.Package.Name != "" {
		return c.Package.Name
	}
	return c.Name
}

// CopyrightFiles is one Files stanza of a package's copyright file
// (DEP-5): the files it covers, their holders and their license.
type CopyrightFiles struct {
	// Files are globs relative to the source tree, e.g. src/decNumber/*.
	Files []string `yaml:"files"`
	// Copyright names the holders, with the years.
	Copyright string `yaml:"copyright"`
	// License is an SPDX identifier.
	License string `yaml:"license"`
	// LicenseFile is a path inside the source tree holding the license's
	// text; needed when the license is not in /usr/share/common-licenses.
	LicenseFile string `yaml:"license_file"`
}
