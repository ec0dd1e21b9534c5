package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/debian"

	"gopkg.in/yaml.v3"
)

var (
	// Upstream version (policy 5.6.12): starts with a digit; no epoch colon
	// here, and hyphens are allowed because a revision always follows.
	upstreamRe   = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`)
	h1Re         = regexp.MustCompile(`^h1:[A-Za-z0-9+/]{43}=$`)
	sha256Re     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	commitRe     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	modVerRe     = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._~/-]*\.[a-zA-Z0-9._~/-]+@v[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.+-]*$`)
	maintainerRe = regexp.MustCompile(`^[^<>]+ <[^<>@\s]+@[^<>\s]+>$`)
	urlRe        = regexp.MustCompile(`^(https?|file)://[^\s]+$`)
	modeRe       = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	lintianTagRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]+$`)
	sectionRe    = regexp.MustCompile(`^([a-z0-9-]+/)?[a-z0-9-]+$`)
)

var priorities = []string{"required", "important", "standard", "optional", "extra"}
var compressions = []string{"", "xz", "gzip", "zstd", "none"}
var contentTypes = []string{"", "file", "dir", "symlink"}

// Option adjusts validation.
type Option func(*options)

type options struct {
	checkScript func(template string, vars map[string]string) error
	skipped     map[string]error
}

// SkippingInvalid has LoadDir leave out each component file that does not
// validate and keep its error in skipped, under the file's path: for new,
// which must work while another spec is half edited. The repository file
// must still be valid.
func SkippingInvalid(skipped map[string]error) Option {
	return func(o *options) { o.skipped = skipped }
}

// WithScriptCheck has validation try each package.scripts entry with f
// (the maintainer-script renderer), so an unknown template or a missing
// variable is reported with its position instead of at packaging time.
// spec cannot import the renderer itself: it imports only the stdlib and
// yaml.
func WithScriptCheck(f func(template string, vars map[string]string) error) Option {
	return func(o *options) { o.checkScript = f }
}

// TemplateData is what "{{...}}" in ldflags, env and vars may refer to.
type TemplateData struct {
	Name, Version, Revision, DebVersion, Module string
	// CommitID is the source's commit, read as {{.Commit}}: empty when
	// neither the spec nor the source says it.
	CommitID string
	// CFLAGS, CPPFLAGS and LDFLAGS are the hardening flags the make and
	// autotools builders also put in the environment, for a Makefile
	// that assigns its own (build.vars: {CFLAGS: "{{.CFLAGS}} -Wall"}).
	CFLAGS, CPPFLAGS, LDFLAGS string
}

// Commit is {{.Commit}}. An unknown commit is an error, not an empty
// string: "-X main.commit={{.Commit}}" would build a binary that claims
// no revision, in silence.
func (d TemplateData) Commit() (string, error) {
	if d.CommitID == "" {
		return "", &NoCommitError{Name: d.Name}
	}
	return d.CommitID, nil
}

// NoCommitError is {{.Commit}} used when no commit is known.
type NoCommitError struct{ Name string }

func (e *NoCommitError) Error() string {
	return "{{.Commit}}: no commit is known for " + e.Name + "'s source"
}

// Hint says how to make the commit known.
func (e *NoCommitError) Hint() string {
	return "pin it in the spec: source.commit: <the 40-hex-digit commit of the release tag>"
}

// Validate checks a decoded component against its node tree and reports every
// problem with its position. It does not modify c. kinds lists the known
// builder kinds.
func Validate(c *Component, root *yaml.Node, kinds []string, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	p := &problems{file: c.File}
	at := func(keys ...string) *yaml.Node { return At(root, keys...) }
	required := func(val string, keys ...string) bool {
		if strings.TrimSpace(val) == "" {
			p.add(at(keys...), strings.Join(keys, "."), "", "required field missing or empty")
			return false
		}
		return true
	}

	if required(c.Name, "name") && !debian.PackageNameRe.MatchString(c.Name) {
		p.add(at("name"), "name", "lower case letters, digits, '+', '-' and '.'; at least two characters", "invalid name %q", c.Name)
	}
	if required(c.Version, "version") && !upstreamRe.MatchString(c.Version) {
		p.add(at("version"), "version", "an upstream version starts with a digit, e.g. 1.5.3 (no leading 'v')", "malformed version %q", c.Version)
	}
	if c.Revision != "" && !debian.RevisionRe.MatchString(c.Revision) {
		p.add(at("revision"), "revision", "letters, digits, '.', '+' and '~', e.g. 1", "malformed Debian revision %q", c.Revision)
	}
	checkComponentTargets(p, root, c)
	if c.Date != "" {
		if _, err := time.Parse(time.RFC3339, c.Date); err != nil {
			p.add(at("date"), "date", "RFC 3339, e.g. 2026-12-06T12:00:00Z (bump sets it)", "malformed date %q", c.Date)
		}
	}
	if required(c.Summary, "summary") {
		if len(c.Summary) > 80 {
			p.add(at("summary"), "summary", "keep the synopsis to one short line", "%d characters, at most 80 allowed", len(c.Summary))
		}
		if strings.Contains(c.Summary, "\n") {
			p.add(at("summary"), "summary", "", "must be a single line")
		}
	}
	required(c.Description, "description")
	if required(c.License, "license") && c.LicenseFile == "" && CommonLicenses[c.License] == "" && !c.IsMeta() {
		// Packaging would refuse it: the copyright file needs the text.
		p.add(at("license"), "license", "set license_file to the license text in the source, e.g. license_file: LICENSE",
			"%q is not in /usr/share/common-licenses, and no license_file gives its text", c.License)
	}
	if c.LicenseFile != "" {
		checkRelPath(p, at("license_file"), "license_file", c.LicenseFile)
	}
	for i, cf := range c.CopyrightFiles {
		validateCopyrightFiles(p, cf, i, at)
	}
	if c.Maintainer != "" && !maintainerRe.MatchString(c.Maintainer) {
		p.add(at("maintainer"), "maintainer", `use "Full Name <email>"`, "malformed maintainer %q", c.Maintainer)
	}
	if c.Homepage != "" && !strings.HasPrefix(c.Homepage, "https://") && !strings.HasPrefix(c.Homepage, "http://") {
		p.add(at("homepage"), "homepage", "", "expected an http(s) URL, found %q", c.Homepage)
	}
	for i, a := range c.After {
		if a == c.Name {
			p.add(at("after", strconv.Itoa(i)), fmt.Sprintf("after[%d]", i), "", "a component cannot come after itself")
		}
	}
	if c.Source != nil {
		validateSource(p, c, root)
	}
	if c.Build != nil {
		validateBuild(p, c, root, kinds)
	}
	if c.Source != nil && c.Build == nil {
		p.add(at("source"), "build", "add build: {kind: ...}", "a spec with a source needs a build section")
	}
	if c.Build != nil && c.Source == nil {
		p.add(at("build"), "source", "add a source (go_module, tarball, git or dir)", "a spec with a build needs a source")
	}
	if c.Package != nil {
		validatePackage(p, c, root, o)
	}
	checkLimits(p, at, c.Limits)
	validateTests(p, c, at)
	return p.err()
}

func validateSource(p *problems, c *Component, root *yaml.Node) {
	s := c.Source
	at := func(keys ...string) *yaml.Node { return At(root, append([]string{"source"}, keys...)...) }
	var kinds []string
	for _, k := range []struct{ name, val string }{{"go_module", s.GoModule}, {"tarball", s.Tarball}, {"git", s.Git}, {"dir", s.Dir}} {
		if k.val != "" {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
		p.add(at(), "source", "set exactly one of go_module, tarball, git, dir", "no source given")
	case 1:
	default:
		p.add(at(kinds[1]), "source."+kinds[1], "set exactly one of go_module, tarball, git, dir", "conflicts with %s", kinds[0])
	}
	validatePins(p, s, at)
	validateWatch(p, s, at)
	validateSourceTree(p, s, at)
	if s.Date != "" {
		if _, err := time.Parse(time.RFC3339, s.Date); err != nil {
			p.add(at("date"), "source.date", "RFC 3339, e.g. 2026-01-31T00:00:00Z", "malformed date %q", s.Date)
		}
	}
}

// validatePins checks what pins a source: a go_module's exact version and
// go.sum hash, a tarball's location and sha256, a git tag's commit.
func validatePins(p *problems, s *Source, at func(...string) *yaml.Node) {
	if s.GoModule != "" {
		if !modVerRe.MatchString(s.GoModule) {
			p.add(at("go_module"), "source.go_module", "an exact module@version, e.g. github.com/opencontainers/runc@v1.5.3", "malformed module %q", s.GoModule)
		}
		if s.Sum == "" {
			p.add(at(), "source.sum", `pin the module hash from go.sum, e.g. sum: "h1:...="`, "required with go_module")
		}
	}
	if s.Sum != "" && !h1Re.MatchString(s.Sum) {
		p.add(at("sum"), "source.sum", `the go.sum form "h1:" + 44 base64 characters`, "malformed checksum %q", s.Sum)
	}
	if s.Tarball != "" {
		switch {
		case strings.HasPrefix(s.Tarball, "https://"), strings.HasPrefix(s.Tarball, "http://"):
		case strings.HasPrefix(s.Tarball, "file://"):
			if !path.IsAbs(strings.TrimPrefix(s.Tarball, "file://")) {
				p.add(at("tarball"), "source.tarball", "file:// and an absolute path, e.g. file:///srv/orig/jq_1.7.1.orig.tar.gz", "malformed file URL %q", s.Tarball)
			}
		case strings.Contains(s.Tarball, "://"):
			p.add(at("tarball"), "source.tarball", "an http(s) or file:// URL, or a path relative to the spec", "unsupported URL %q", s.Tarball)
		default:
			checkRelPath(p, at("tarball"), "source.tarball", s.Tarball)
		}
		if s.SHA256 == "" {
			p.add(at(), "source.sha256", "pin the archive's sha256 (sha256sum FILE)", "required with tarball")
		}
	}
	if s.SHA256 != "" && !sha256Re.MatchString(s.SHA256) {
		p.add(at("sha256"), "source.sha256", "64 lower-case hex digits", "malformed checksum %q", s.SHA256)
	}
	if s.Git != "" {
		if s.Tag == "" {
			p.add(at(), "source.tag", "name the release tag, e.g. v1.3.2", "required with git")
		}
		if s.Commit == "" {
			p.add(at(), "source.commit", "pin the full 40-digit commit the tag points to", "required with git")
		}
	}
	if s.Commit != "" && !commitRe.MatchString(s.Commit) {
		p.add(at("commit"), "source.commit", "a full commit id: 40 lower-case hex digits", "malformed commit %q", s.Commit)
	}
}

// validateWatch checks how new upstream releases are found: a tarball's
// watch page and regexp, and the track.
func validateWatch(p *problems, s *Source, at func(...string) *yaml.Node) {
	if w := s.Watch; w != nil {
		switch {
		case s.Tarball == "":
			p.add(at("watch"), "source.watch", "watch finds new tarballs; git and go_module sources need none", "only for tarball sources")
		case !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://"):
			p.add(at("watch", "url"), "source.watch.url", "the page that lists the release archives", "expected an http(s) URL, found %q", w.URL)
		}
		hint := `a regexp whose first group is the version, e.g. 'foo-([0-9.]+)\.tar\.gz'`
		if re, err := regexp.Compile(w.Regexp); err != nil {
			p.add(at("watch", "regexp"), "source.watch.regexp", hint, "invalid regexp: %v", err)
		} else if re.NumSubexp() < 1 {
			p.add(at("watch", "regexp"), "source.watch.regexp", hint, "%q has no group to capture the version", w.Regexp)
		}
	}
	if s.Track != "" && s.Track != "release" && s.Track != "prerelease" {
		p.add(at("track"), "source.track", "release (default) or prerelease", "unknown track %q", s.Track)
	}
}

// validateSourceTree checks the paths that shape the unpacked tree: the
// dir, strip_components, deletions, exclusions and patches.
func validateSourceTree(p *problems, s *Source, at func(...string) *yaml.Node) {
	// ".." is the tree the specs directory lives in: a repository that
	// packages itself (specs/debforge-tool.yaml). Anything further out or
	// beside it stays refused.
	if s.Dir != "" && path.Clean(s.Dir) != ".." {
		checkRelPath(p, at("dir"), "source.dir", s.Dir)
	}
	if s.StripComponents != nil && *s.StripComponents < 0 {
		p.add(at("strip_components"), "source.strip_components", "", "must not be negative")
	}
	for i, d := range s.Delete {
		checkRelPath(p, at("delete", strconv.Itoa(i)), fmt.Sprintf("source.delete[%d]", i), d)
	}
	for i, e := range s.Exclude {
		checkRelPath(p, at("exclude", strconv.Itoa(i)), fmt.Sprintf("source.exclude[%d]", i), e)
		if path.Clean(e) != e || e == "." {
			p.add(at("exclude", strconv.Itoa(i)), fmt.Sprintf("source.exclude[%d]", i), "a clean relative path, e.g. out or build/cache", "%q is not a clean path", e)
		}
	}
	if len(s.Exclude) > 0 && s.Dir == "" {
		p.add(at("exclude"), "source.exclude", "only a dir source is copied from a tree that may hold build output", "not used without source.dir")
	}
	for i, patch := range s.Patches {
		n, field := at("patches", strconv.Itoa(i)), fmt.Sprintf("source.patches[%d]", i)
		if checkRelPath(p, n, field, patch) {
			checkPatchFile(p, n, field, patch)
		}
	}
}

func validateBuild(p *problems, c *Component, root *yaml.Node, kinds []string) {
	b := c.Build
	at := func(keys ...string) *yaml.Node { return At(root, append([]string{"build"}, keys...)...) }
	trial := trialData(c)
	if b.Kind == "" {
		p.add(at(), "build.kind", "known: "+strings.Join(kinds, ", "), "required field missing")
	} else if !slices.Contains(kinds, b.Kind) {
		p.add(at("kind"), "build.kind", "known: "+strings.Join(kinds, ", "), "unknown builder %q", b.Kind)
	}
	for i, d := range b.BuildDepends {
		if !debian.PackageNameRe.MatchString(d) {
			p.add(at("build_depends", strconv.Itoa(i)), fmt.Sprintf("build.build_depends[%d]", i), "a Debian package name, e.g. libseccomp-dev", "invalid package name %q", d)
		}
	}
	for k, v := range b.Env {
		checkTemplate(p, at("env", k), "build.env."+k, v, trial)
	}
	for k, v := range b.Vars {
		checkTemplate(p, at("vars", k), "build.vars."+k, v, trial)
	}
	for i, f := range b.Ldflags {
		checkTemplate(p, at("ldflags", strconv.Itoa(i)), fmt.Sprintf("build.ldflags[%d]", i), f, trial)
	}
	for i, f := range b.ConfigureFlags {
		checkTemplate(p, at("configure_flags", strconv.Itoa(i)), fmt.Sprintf("build.configure_flags[%d]", i), f, trial)
	}
	if !slices.Contains([]string{"", "warn", "strict"}, b.Hardening) {
		p.add(at("hardening"), "build.hardening", "leave it out (linker features fail the build), strict, or warn with a hardening_reason", "unknown value %q", b.Hardening)
	}
	switch reason := strings.TrimSpace(b.HardeningReason) != ""; {
	case b.Hardening == "warn" && !reason:
		p.add(at("hardening"), "build.hardening", "say why the binaries may lack hardening: hardening_reason: <why>", "warn needs a hardening_reason")
	case b.Hardening != "warn" && reason:
		p.add(at("hardening_reason"), "build.hardening_reason", "remove it, or set hardening: warn", "a reason without hardening: warn")
	}
	if b.Kind == "go" && len(b.Binaries) == 0 {
		p.add(at(), "build.binaries", "list each main package: - {main: ./cmd/x, dst: /usr/bin/x}", "the go builder needs at least one binary")
	}
	if b.Kind == "script" && len(b.Steps) == 0 {
		p.add(at(), "build.steps", "list shell commands; $SRC, $DESTDIR and $WORK are set", "the script builder needs at least one step")
	}
	if b.Kind != "go" && len(b.Binaries) > 0 {
		p.add(at("binaries"), "build.binaries", "only the go builder builds binaries", "not used by builder %q", b.Kind)
	}
	if b.Kind != "go" && len(b.PostSteps) > 0 {
		p.add(at("post_steps"), "build.post_steps", "only the go builder runs post_steps; the script builder's steps do the same", "not used by builder %q", b.Kind)
	}
	if b.Kind != "script" && len(b.Steps) > 0 {
		p.add(at("steps"), "build.steps", "only the script builder runs steps", "not used by builder %q", b.Kind)
	}
	for i, bin := range b.Binaries {
		idx := strconv.Itoa(i)
		fp := fmt.Sprintf("build.binaries[%d]", i)
		if bin.Main == "" {
			p.add(at("binaries", idx), fp+".main", "e.g. ./cmd/runc or .", "required field missing")
		} else {
			checkRelPath(p, at("binaries", idx, "main"), fp+".main", bin.Main)
		}
		checkDst(p, at("binaries", idx, "dst"), fp+".dst", bin.Dst, at("binaries", idx))
		for j, f := range bin.Ldflags {
			checkTemplate(p, at("binaries", idx, "ldflags", strconv.Itoa(j)), fmt.Sprintf("%s.ldflags[%d]", fp, j), f, trial)
		}
	}
}

func validatePackage(p *problems, c *Component, root *yaml.Node, o options) {
	pk := c.Package
	at := func(keys ...string) *yaml.Node { return At(root, append([]string{"package"}, keys...)...) }
	if pk.Name != "" && !debian.PackageNameRe.MatchString(pk.Name) {
		p.add(at("name"), "package.name", "lower case letters, digits, '+', '-' and '.'", "invalid package name %q", pk.Name)
	}
	if pk.Section != "" && !sectionRe.MatchString(pk.Section) {
		p.add(at("section"), "package.section", "e.g. admin, utils, net", "invalid section %q", pk.Section)
	}
	if pk.Priority != "" && !slices.Contains(priorities, pk.Priority) {
		p.add(at("priority"), "package.priority", "one of "+strings.Join(priorities, ", "), "invalid priority %q", pk.Priority)
	}
	switch pk.Architecture {
	case "", "any":
		if c.IsMeta() && pk.Architecture == "any" {
			p.add(at("architecture"), "package.architecture", "a meta-package contains no binaries: use all", "meta-package cannot be architecture any")
		}
	case "all":
	default:
		p.add(at("architecture"), "package.architecture", "any (the build host's architecture) or all", "invalid architecture %q", pk.Architecture)
	}
	validateRelations(p, c, at)
	if !slices.Contains(compressions, pk.Compression) {
		p.add(at("compression"), "package.compression", "one of xz, gzip, zstd, none", "unknown compression %q", pk.Compression)
	}
	if pk.MultiArch != "" && pk.MultiArch != "foreign" && pk.MultiArch != "same" && pk.MultiArch != "allowed" {
		p.add(at("multi_arch"), "package.multi_arch", "foreign for a tool, same for a library, allowed for an interpreter", "unknown Multi-Arch value %q", pk.MultiArch)
	}
	validatePaths(p, pk, at)
	for i, ct := range pk.Contents {
		validateContent(p, ct, i, at)
	}
	validateScriptsAndOverrides(p, pk, at, o)
}

// validateRelations checks the package's relation fields as Debian's
// grammar for a binary package allows them, after expanding templates
// ({{.Version}} and {{.DebVersion}} keep one source of truth for versions;
// the expanded text is what is checked).
func validateRelations(p *problems, c *Component, at func(...string) *yaml.Node) {
	pk := c.Package
	trial := trialData(c)
	rels := []struct {
		key  string
		list []string
	}{{"depends", pk.Depends}, {"pre_depends", pk.PreDepends}, {"recommends", pk.Recommends}, {"suggests", pk.Suggests}, {"conflicts", pk.Conflicts}, {"breaks", pk.Breaks}, {"replaces", pk.Replaces}, {"provides", pk.Provides}}
	data := c.Template()
	if c.Revision == "" {
		data.Revision, data.DebVersion = "1", c.Version+"-1"
	}
	for _, r := range rels {
		for i, expr := range r.list {
			n, field := at(r.key, strconv.Itoa(i)), fmt.Sprintf("package.%s[%d]", r.key, i)
			if strings.Contains(expr, "{{") {
				before := len(p.list)
				checkTemplate(p, n, field, expr, trial)
				if len(p.list) > before {
					continue
				}
				var err error
				if expr, err = Expand(expr, data); err != nil {
					p.add(n, field, "", "bad template: %v", err)
					continue
				}
			}
			if msg := debian.CheckRelation(expr, r.key); msg != "" {
				p.add(n, field, `e.g. "libc6 (>= 2.36)" or "foo | bar"`, "%s", msg)
			}
		}
	}
}

// validatePaths checks package.exclude and package.not_conffiles.
func validatePaths(p *problems, pk *Package, at func(...string) *yaml.Node) {
	for i, ex := range pk.Exclude {
		n, field := at("exclude", strconv.Itoa(i)), fmt.Sprintf("package.exclude[%d]", i)
		if _, err := path.Match(ex, "/"); err != nil || !path.IsAbs(ex) || path.Clean(ex) != ex {
			p.add(n, field, "an absolute glob of installed paths, e.g. /usr/include or /usr/lib/*/*.a", "%q is not a clean absolute pattern", ex)
		}
	}
	for i, nc := range pk.NotConffiles {
		n, field := at("not_conffiles", strconv.Itoa(i)), fmt.Sprintf("package.not_conffiles[%d]", i)
		if !strings.HasPrefix(nc, "/etc/") || path.Clean(nc) != nc {
			p.add(n, field, "the absolute path of a file under /etc the package ships, e.g. /etc/foo/generated.conf", "%q is not a clean path under /etc", nc)
		}
	}
}

// validateContent checks package.contents[i].
func validateContent(p *problems, ct Content, i int, at func(...string) *yaml.Node) {
	idx := strconv.Itoa(i)
	fp := fmt.Sprintf("package.contents[%d]", i)
	if !slices.Contains(contentTypes, ct.Type) {
		p.add(at("contents", idx, "type"), fp+".type", "file, dir or symlink", "unknown type %q", ct.Type)
	}
	checkDst(p, at("contents", idx, "dst"), fp+".dst", ct.Dst, at("contents", idx))
	switch ct.Type {
	case "", "file":
		if ct.Src == "" {
			p.add(at("contents", idx), fp+".src", "a path relative to the source tree", "required field missing")
		} else {
			checkRelPath(p, at("contents", idx, "src"), fp+".src", ct.Src)
		}
	case "symlink":
		if ct.Src == "" {
			p.add(at("contents", idx), fp+".src", "the link target, e.g. /usr/bin/x or ../x", "required for a symlink")
		}
	case "dir":
		if ct.Src != "" {
			p.add(at("contents", idx, "src"), fp+".src", "a dir entry creates an empty directory", "not used with type dir")
		}
	}
	validateMode(p, ct, fp, func(keys ...string) *yaml.Node { return at(append([]string{"contents", idx}, keys...)...) })
	if ct.Conffile && !strings.HasPrefix(ct.Dst, "/etc/") {
		p.add(at("contents", idx, "conffile"), fp+".conffile", "Debian policy 10.7.2: conffiles live under /etc", "%s is not under /etc", ct.Dst)
	}
	for j, r := range ct.Replace {
		if r.From == "" {
			p.add(at("contents", idx, "replace", strconv.Itoa(j)), fmt.Sprintf("%s.replace[%d].from", fp, j), "", "required field missing")
		}
	}
}

// validateMode checks a content entry's mode (fp is its field path, at
// finds its keys): octal, and setuid, setgid or world-writable only with
// a reason in allow_unsafe_mode.
func validateMode(p *problems, ct Content, fp string, at func(...string) *yaml.Node) {
	reason := strings.TrimSpace(ct.AllowUnsafeMode) != ""
	switch {
	case ct.Mode == "" && reason:
		p.add(at("allow_unsafe_mode"), fp+".allow_unsafe_mode", "remove it", "no mode is set")
	case ct.Mode == "":
	case !modeRe.MatchString(ct.Mode):
		p.add(at("mode"), fp+".mode", `an octal string, e.g. "0755"`, "malformed mode %q", ct.Mode)
	default:
		m, _ := strconv.ParseUint(ct.Mode, 8, 32)
		switch unsafe := UnsafeMode(m); {
		case unsafe && !reason:
			p.add(at("mode"), fp+".mode", "use 0755 or 0644; if the package really needs it, say why in allow_unsafe_mode: <reason>", "mode %q is setuid, setgid or world-writable", ct.Mode)
		case !unsafe && reason:
			p.add(at("allow_unsafe_mode"), fp+".allow_unsafe_mode", "remove it", "mode %q is neither setuid, setgid nor world-writable", ct.Mode)
		}
	}
}

// validateScriptsAndOverrides checks package.scripts (each template
// known, with the variables it needs, when o can check them) and
// package.lintian_overrides (a tag and a reason).
func validateScriptsAndOverrides(p *problems, pk *Package, at func(...string) *yaml.Node, o options) {
	for i, s := range pk.Scripts {
		if s.Template == "" {
			p.add(at("scripts", strconv.Itoa(i)), fmt.Sprintf("package.scripts[%d].template", i), "name a template from postinst/", "required field missing")
		} else if o.checkScript != nil {
			if err := o.checkScript(s.Template, s.Vars); err != nil {
				p.add(at("scripts", strconv.Itoa(i), "template"), fmt.Sprintf("package.scripts[%d]", i), "", "%v", err)
			}
		}
	}
	for i, lo := range pk.LintianOverrides {
		idx := strconv.Itoa(i)
		if !lintianTagRe.MatchString(lo.Tag) {
			p.add(at("lintian_overrides", idx, "tag"), fmt.Sprintf("package.lintian_overrides[%d].tag", i), "a lintian tag name", "invalid tag %q", lo.Tag)
		}
		if strings.TrimSpace(lo.Reason) == "" {
			p.add(at("lintian_overrides", idx), fmt.Sprintf("package.lintian_overrides[%d].reason", i), "say why the override is right", "required field missing")
		}
	}
}

// checkRelPath rejects absolute paths and paths that climb out with "..".
func checkRelPath(p *problems, n *yaml.Node, field, v string) bool {
	if path.IsAbs(v) {
		p.add(n, field, "give a path relative to the source tree or spec file", "absolute path %q not allowed", v)
		return false
	}
	clean := path.Clean(v)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		p.add(n, field, "the path must stay inside its tree", "path %q escapes with ..", v)
		return false
	}
	return true
}

// checkPatchFile requires a patch to be a regular file beneath the spec's
// directory: a link out of it (to a key, to /etc/shadow) is refused
// before anything reads it.
func checkPatchFile(p *problems, n *yaml.Node, field, patch string) {
	if p.file == "" {
		return
	}
	f, err := OpenBeneath(filepath.Dir(p.file), patch)
	if err != nil {
		p.add(n, field, "a regular file beside the spec; a link may point elsewhere inside the spec's directory, never out of it", "%v", err)
		return
	}
	f.Close()
}

// checkDst requires an absolute, clean path inside the package.
func checkDst(p *problems, n *yaml.Node, field, v string, parent *yaml.Node) {
	switch {
	case v == "":
		p.add(parent, field, "an absolute path in the package, e.g. /usr/bin/x", "required field missing")
	case !path.IsAbs(v):
		p.add(n, field, "an absolute path in the package, e.g. /usr/bin/x", "%q is not absolute", v)
	case path.Clean(v) != v || v == "/":
		p.add(n, field, "write it without '..', '.', '//' or a trailing '/'", "%q is not a clean path", v)
	case strings.HasPrefix(v, "/usr/local/"):
		p.add(n, field, "Debian policy 9.1.2: packages never install into /usr/local; use /usr", "%q is under /usr/local", v)
	}
}

// checkTemplate parses "{{...}}" text and runs it against TemplateData so a
// misspelled field is reported now, not in the middle of a build.
func checkTemplate(p *problems, n *yaml.Node, field, v string, d TemplateData) {
	if !strings.Contains(v, "{{") {
		return
	}
	t, err := parseTemplate(field, v)
	if err == nil {
		_, err = executeTemplate(t, d)
	}
	if err != nil {
		p.add(n, field, "known: {{.Name}} {{.Version}} {{.Revision}} {{.DebVersion}} {{.Commit}} {{.Module}} {{.CFLAGS}} {{.CPPFLAGS}} {{.LDFLAGS}}", "bad template: %v", err)
	}
}

// trialData is what validate renders c's templates with: c's own names
// and versions, any commit (whether one is known is found at build time),
// and flags as long as a build's may be, so a template over the build's
// output budget (MaxTemplateOutput) is found here, not at build time.
func trialData(c *Component) TemplateData {
	d := c.Template()
	d.CommitID = strings.Repeat("0", 40)
	flags := strings.Repeat("-fflag ", 64) // longer than any release's dpkg-buildflags
	d.CFLAGS, d.CPPFLAGS, d.LDFLAGS = flags, flags, flags
	if d.Revision == "" {
		d.Revision = "1"
		d.DebVersion = c.Version + "-1"
	}
	return d
}

// Expand renders a template string with the component's data.
func Expand(s string, d TemplateData) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	t, err := parseTemplate("template", s)
	if err != nil {
		return "", err
	}
	return executeTemplate(t, d)
}

// validateCopyrightFiles checks copyright_files[i]: its globs relative to
// the source tree, its holders, and a license whose text the copyright
// file can carry.
func validateCopyrightFiles(p *problems, cf CopyrightFiles, i int, at func(...string) *yaml.Node) {
	idx := strconv.Itoa(i)
	fp := fmt.Sprintf("copyright_files[%d]", i)
	if len(cf.Files) == 0 {
		p.add(at("copyright_files", idx), fp+".files", "globs relative to the source tree, e.g. [src/decNumber/*]", "required field missing")
	}
	for j, g := range cf.Files {
		n, field := at("copyright_files", idx, "files", strconv.Itoa(j)), fmt.Sprintf("%s.files[%d]", fp, j)
		if _, err := path.Match(g, "x"); err != nil || g == "*" {
			p.add(n, field, "a glob relative to the source tree other than *, which license: covers", "%q is not a glob for part of the tree", g)
			continue
		}
		checkRelPath(p, n, field, g)
	}
	if strings.TrimSpace(cf.Copyright) == "" {
		p.add(at("copyright_files", idx), fp+".copyright", "the holders with the years, e.g. 2005 IBM Corporation", "required field missing")
	}
	switch {
	case cf.License == "":
		p.add(at("copyright_files", idx), fp+".license", "an SPDX identifier, e.g. ICU", "required field missing")
	case cf.LicenseFile == "" && CommonLicenses[cf.License] == "":
		p.add(at("copyright_files", idx, "license"), fp+".license", "set license_file to the license text in the source",
			"%q is not in /usr/share/common-licenses, and no license_file gives its text", cf.License)
	}
	if cf.LicenseFile != "" {
		checkRelPath(p, at("copyright_files", idx, "license_file"), fp+".license_file", cf.LicenseFile)
	}
}

// testNameRe is a test's name: it becomes part of result and log names.
var testNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// validateTests checks each test's name, command and needs.
func validateTests(p *problems, c *Component, at func(...string) *yaml.Node) {
	seen := map[string]bool{}
	trial := trialData(c)
	for i, t := range c.Tests {
		idx, fp := strconv.Itoa(i), fmt.Sprintf("tests[%d]", i)
		switch {
		case t.Name == "":
			p.add(at("tests", idx), fp+".name", "e.g. name: version", "required field missing")
		case !testNameRe.MatchString(t.Name):
			p.add(at("tests", idx, "name"), fp+".name", "lower case letters, digits and '-', e.g. version", "invalid test name %q", t.Name)
		case seen[t.Name]:
			p.add(at("tests", idx, "name"), fp+".name", "give each test its own name", "duplicate test name %q", t.Name)
		}
		seen[t.Name] = true
		if strings.TrimSpace(t.Run) == "" {
			p.add(at("tests", idx), fp+".run", "a shell command whose exit status 0 passes, e.g. run: runc --version", "required field missing or empty")
		} else {
			checkTemplate(p, at("tests", idx, "run"), fp+".run", t.Run, trial)
		}
		for j, n := range t.Needs {
			if !debian.PackageNameRe.MatchString(n) {
				p.add(at("tests", idx, "needs", strconv.Itoa(j)), fmt.Sprintf("%s.needs[%d]", fp, j), "a Debian package name, e.g. busybox-static", "invalid package name %q", n)
			}
		}
	}
}
