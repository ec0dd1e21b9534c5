// Package packaging turns a staged tree and a spec into a .deb with the nfpm
// library: a fresh nfpm.Info per package, an explicit mtime, the copyright
// and changelog Debian policy requires, and lintian overrides.
package packaging

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"

	"github.com/debforge/debforge/internal/atomicfile"
	"github.com/debforge/debforge/internal/hardening"
	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/postinst"
)

// Input is everything one package is made of.
type Input struct {
	Component *spec.Component // validated, defaults applied
	// StageDir is the builder's DESTDIR ("" for meta-packages).
	StageDir string
	// SrcDir is the source tree that package.contents src paths refer to.
	SrcDir string
	// WorkDir receives generated files (copyright, changelog, ...).
	WorkDir string
	// Scripts maps a maintainer-script hook to a file path.
	Scripts map[string]string
	// Arch is the Debian architecture for "any" packages.
	Arch string
	// MTime is stamped on every file, for byte-identical rebuilds.
	MTime time.Time
	// ExtraDepends are added to Depends (e.g. shared-library dependencies).
	ExtraDepends []string
	// History is the changelog of the earlier published revisions (plain
	// text, newest first; see ChangelogHistory), kept below this entry.
	History []byte
}

// FileName is the conventional .deb file name.
func FileName(c *spec.Component, arch string) string {
	if c.Package.Architecture == "all" {
		arch = "all"
	}
	return fmt.Sprintf("%s_%s_%s.deb", c.PackageName(), c.DebVersion(), arch)
}

// Build writes the .deb for in into dir and returns its path. data.tar
// is compressed once, in parallel (see datatar.go); the file appears
// atomically: a failure leaves no partial .deb behind.
func Build(in Input, dir string) (string, error) {
	info, err := Info(in)
	if err != nil {
		return "", err
	}
	// nfpm checks the contents, adds parent directories, sorts them and
	// fills in modes, owners and mtimes.
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("nfpm: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	scratch, err := os.CreateTemp(dir, ".data-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(scratch.Name())
	defer scratch.Close()
	bw := bufio.NewWriterSize(scratch, 1<<20)
	dropped := unownedDirsIn(info.Contents)
	d, err := writeData(bw, info, dropped)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return "", err
	}
	size, err := scratch.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	control, err := controlArchive(info, d, installedSizeKiB(info.Contents, dropped))
	if err != nil {
		return "", err
	}
	if _, err := scratch.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	out := filepath.Join(dir, FileName(in.Component, in.Arch))
	return out, atomicfile.WriteWith(out, 0o644, func(w io.Writer) error {
		return writeDeb(w, info.MTime, control, d.name, bufio.NewReaderSize(scratch, 1<<20), size)
	})
}

// Info builds a fresh nfpm.Info for one package.
func Info(in Input) (*nfpm.Info, error) {
	c := in.Component
	pk := c.Package
	if err := checkFields(c); err != nil {
		return nil, err
	}
	if err := checkInput(in); err != nil {
		return nil, err
	}
	arch := in.Arch
	if pk.Architecture == "all" {
		arch = "all"
	}
	contents, err := packageContents(in)
	if err != nil {
		return nil, err
	}
	compression := pk.Compression
	depends := append(append([]string{}, pk.Depends...), in.ExtraDepends...)
	for _, sc := range pk.Scripts {
		for _, d := range postinst.Depends(sc.Template) {
			if !slices.Contains(depends, d) {
				depends = append(depends, d)
			}
		}
	}
	info := &nfpm.Info{
		Name:          pk.Name,
		Arch:          arch,
		Platform:      "linux",
		Version:       c.Version,
		Release:       c.Revision,
		VersionSchema: "none",
		Section:       pk.Section,
		Priority:      pk.Priority,
		Maintainer:    c.Maintainer,
		Description:   c.Summary + "\n" + strings.TrimSpace(c.Description),
		Homepage:      c.Homepage,
		License:       c.License,
		// Staged and listed files are names, never patterns ("[", "a*").
		DisableGlobbing: true,
		MTime:           in.MTime.UTC(),
		Overridables: nfpm.Overridables{
			Depends:    depends,
			Recommends: pk.Recommends,
			Suggests:   pk.Suggests,
			Conflicts:  pk.Conflicts,
			Replaces:   pk.Replaces,
			Provides:   pk.Provides,
			Contents:   contents,
			Umask:      0o022,
			Scripts: nfpm.Scripts{
				PreInstall:  in.Scripts["preinst"],
				PostInstall: in.Scripts["postinst"],
				PreRemove:   in.Scripts["prerm"],
				PostRemove:  in.Scripts["postrm"],
			},
			Deb: nfpm.Deb{
				Fields:      multiArch(pk.MultiArch),
				Triggers:    triggers(contents),
				Compression: compression,
				Breaks:      pk.Breaks,
				Predepends:  pk.PreDepends,
			},
		},
	}
	return info, nil
}

// packageContents is every file of the package: what the build staged
// and the spec's contents, documentation compressed, the generated
// copyright, changelog and overrides, /etc files marked as conffiles;
// two sources for one path are refused.
func packageContents(in Input) (files.Contents, error) {
	pk := in.Component.Package
	contents, err := stagedContents(in.StageDir, pk.Exclude)
	if err != nil {
		return nil, fmt.Errorf("collect staged files: %w", err)
	}
	extra, err := specContents(in)
	if err != nil {
		return nil, err
	}
	contents = append(contents, extra...)
	contents, err = compressDocs(contents, filepath.Join(in.WorkDir, "gz"))
	if err != nil {
		return nil, err
	}
	pies, err := selfContainedPIEs(contents)
	if err != nil {
		return nil, err
	}
	generated, err := docContents(in, unownedDirsIn(contents), pies)
	if err != nil {
		return nil, err
	}
	contents = append(contents, generated...)
	markConffiles(contents, pk.NotConffiles)
	return contents, checkCollisions(contents)
}

// stagedContents lists everything the builder installed, with normalized
// modes: 0755 for executables and directories, 0644 otherwise.
func stagedContents(stage string, exclude []string) (files.Contents, error) {
	if stage == "" {
		return nil, nil
	}
	var out files.Contents
	err := filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == stage {
				return filepath.SkipAll
			}
			return err
		}
		rel, _ := filepath.Rel(stage, p)
		if rel == "." {
			return nil
		}
		dst := "/" + filepath.ToSlash(rel)
		if excludedPath(dst, exclude) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.ContainsAny(dst, "\n\r") {
			// dpkg keeps a package's file list one name per line.
			return fmt.Errorf("staged file %q: a newline in a file name breaks dpkg's file lists; rename it in the build", dst)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			empty, err := isEmptyDir(p)
			if err != nil || !empty {
				return err
			}
			out = append(out, &files.Content{Destination: dst, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, linkContent(target, dst))
		case d.Type().IsRegular():
			mode := normalMode(info.Mode())
			if isSharedLibrary(dst) {
				mode = 0o644 // policy 8.1: shared libraries are not executable
			}
			out = append(out, &files.Content{Source: p, Destination: dst, Type: files.TypeFile, FileInfo: &files.ContentFileInfo{Mode: mode}})
		default:
			return fmt.Errorf("%s: unsupported file type %s", dst, info.Mode().Type())
		}
		return nil
	})
	return out, err
}

func multiArch(v string) map[string]string {
	if v == "" {
		return nil
	}
	return map[string]string{"Multi-Arch": v}
}

func triggers(contents files.Contents) nfpm.DebTriggers {
	if needsLdconfig(contents) {
		return nfpm.DebTriggers{ActivateNoAwait: []string{"ldconfig"}}
	}
	return nfpm.DebTriggers{}
}

// excludedPath says whether dst, or a directory above it, matches one of
// the spec's exclude patterns.
func excludedPath(dst string, patterns []string) bool {
	for _, p := range patterns {
		for d := dst; d != "/" && d != "."; d = path.Dir(d) {
			if ok, _ := path.Match(p, d); ok {
				return true
			}
		}
	}
	return false
}

// libDirRe are the directories ld.so searches by default (and multiarch's).
var libDirRe = regexp.MustCompile(`^/(usr/)?lib(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?/[^/]+$`)

// isSharedLibrary says whether dst is a shared library in a directory the
// dynamic linker searches: lib*.so or lib*.so.N...
func isSharedLibrary(dst string) bool {
	base := path.Base(dst)
	return libDirRe.MatchString(dst) && strings.HasPrefix(base, "lib") && (strings.HasSuffix(base, ".so") || strings.Contains(base, ".so."))
}

// isVersionedSharedLibrary says whether dst is a SONAME's file
// (lib*.so.N...) where ld.so looks, not a development link (lib*.so).
func isVersionedSharedLibrary(dst string) bool {
	return isSharedLibrary(dst) && strings.Contains(path.Base(dst), ".so.")
}

// programDirRe are the directories a package's programs go in.
var programDirRe = regexp.MustCompile(`^/(usr/)?s?bin/[^/]+$`)

// LibrariesBesidePrograms lists the versioned shared libraries (a
// SONAME's file where ld.so looks) that the staged tree ships beside
// programs, leaving out what exclude leaves out. Debian ships such a
// library in a package of its own, named for its SONAME, so that other
// packages can depend on it without the programs (policy 8.1).
func LibrariesBesidePrograms(stageDir string, exclude []string) ([]string, error) {
	contents, err := stagedContents(stageDir, exclude)
	if err != nil {
		return nil, err
	}
	var libs []string
	programs := false
	for _, ct := range contents {
		if ct.Type != files.TypeFile && ct.Type != "" {
			continue
		}
		if isVersionedSharedLibrary(ct.Destination) {
			libs = append(libs, ct.Destination)
		}
		programs = programs || programDirRe.MatchString(ct.Destination)
	}
	if !programs {
		return nil, nil
	}
	sort.Strings(libs)
	return libs, nil
}

// needsLdconfig says whether the package ships a versioned shared
// library (a SONAME's file) where ld.so looks: its cache must then be
// rebuilt when the package is installed or removed (dpkg's ldconfig
// trigger, what dh_makeshlibs adds).
func needsLdconfig(contents files.Contents) bool {
	for _, ct := range contents {
		if (ct.Type == files.TypeFile || ct.Type == "") && isVersionedSharedLibrary(ct.Destination) {
			return true
		}
	}
	return false
}

// markConffiles makes every regular file under /etc a conffile (policy
// 10.7.2) unless the spec lists it in not_conffiles: dpkg then keeps an
// admin's edits on upgrade instead of overwriting them.
func markConffiles(contents files.Contents, except []string) {
	for _, ct := range contents {
		if (ct.Type == files.TypeFile || ct.Type == "") && strings.HasPrefix(ct.Destination, "/etc/") && !slices.Contains(except, ct.Destination) {
			ct.Type = files.TypeConfig
		}
	}
}

// linkContent is a symlink entry with the link's own mode and size set:
// nfpm stats Source for whatever an entry leaves unset, and a link's
// Source is its text, a path that names something on the build host.
func linkContent(target, dst string) *files.Content {
	return &files.Content{Source: target, Destination: dst, Type: files.TypeSymlink,
		FileInfo: &files.ContentFileInfo{Mode: fs.ModeSymlink | 0o777, Size: int64(len(target))}}
}

func normalMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func isEmptyDir(p string) (bool, error) {
	entries, err := os.ReadDir(p)
	return len(entries) == 0, err
}

// specContents adds package.contents entries: copies under WorkDir, read
// beneath SrcDir, with text replacements applied.
func specContents(in Input) (files.Contents, error) {
	var out files.Contents
	for i, ct := range in.Component.Package.Contents {
		field := fmt.Sprintf("package.contents[%d]", i)
		switch ct.Type {
		case "dir":
			out = append(out, &files.Content{Destination: ct.Dst, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: modeOr(ct.Mode, 0o755)}})
			continue
		case "symlink":
			out = append(out, linkContent(ct.Src, ct.Dst))
			continue
		}
		src := filepath.Join(in.WorkDir, "contents", strconv.Itoa(i), path.Base(ct.Dst))
		mode, err := copyContent(in.SrcDir, ct, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: src: %w", in.Component.File, field, err)
		}
		typ := files.TypeFile
		if ct.Conffile {
			typ = files.TypeConfig
		}
		out = append(out, &files.Content{Source: src, Destination: ct.Dst, Type: typ, FileInfo: &files.ContentFileInfo{Mode: modeOr(ct.Mode, normalMode(mode))}})
	}
	return out, nil
}

func modeOr(s string, def fs.FileMode) fs.FileMode {
	if s == "" {
		return def
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return def
	}
	return fs.FileMode(m)
}

// docContents generates /usr/share/doc/PKG/{copyright,changelog.Debian.gz}
// and the lintian overrides file.
func docContents(in Input, dropped, pies []string) (files.Contents, error) {
	c := in.Component
	pkg := c.PackageName()
	dir := filepath.Join(in.WorkDir, "doc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	copyright, err := Copyright(c, in.SrcDir, in.MTime.Year())
	if err != nil {
		return nil, err
	}
	changelog, err := Changelog(c, in.MTime, in.History)
	if err != nil {
		return nil, err
	}
	gen := []struct {
		name, dst string
		data      []byte
	}{
		{"copyright", "/usr/share/doc/" + pkg + "/copyright", []byte(copyright)},
		{"changelog.Debian.gz", "/usr/share/doc/" + pkg + "/changelog.Debian.gz", changelog},
		{"lintian-overrides", "/usr/share/lintian/overrides/" + pkg, []byte(LintianOverrides(c, dropped, pies, len(in.History) > 0))},
	}
	var out files.Contents
	for _, g := range gen {
		if len(g.data) == 0 { // no overrides: no file, as dh_lintian
			continue
		}
		p := filepath.Join(dir, g.name)
		if err := os.WriteFile(p, g.data, 0o644); err != nil {
			return nil, err
		}
		out = append(out, &files.Content{Source: p, Destination: g.dst, Type: files.TypeFile, FileInfo: &files.ContentFileInfo{Mode: 0o644}})
	}
	return out, nil
}

var yearRe = regexp.MustCompile(`\b(19|20)[0-9]{2}\b`)

// Copyright renders a machine-readable (DEP-5) copyright file. Licenses
// Debian ships are referenced; others need license_file from the source.
// A holder line without a year gets the source's year: a copyright notice
// names one (lintian: copyright-without-copyright-notice).
func Copyright(c *spec.Component, srcDir string, year int) (string, error) {
	holders := c.Copyright
	if !yearRe.MatchString(holders) {
		holders = fmt.Sprintf("%d %s", year, holders)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: %s\n", c.Name)
	if c.Homepage != "" {
		fmt.Fprintf(&b, "Source: %s\n", c.Homepage)
	}
	fmt.Fprintf(&b, "\nFiles: *\nCopyright: %s\nLicense: %s\n", holders, c.License)
	if c.IsMeta() && c.LicenseFile == "" && spec.CommonLicenses[c.License] == "" {
		b.WriteString(" This package contains only packaging metadata.\n")
	} else if err := writeLicenseText(&b, srcDir, c.License, c.LicenseFile); err != nil {
		return "", fmt.Errorf("%s: %w", c.File, err)
	}
	for i, cf := range c.CopyrightFiles {
		fmt.Fprintf(&b, "\nFiles: %s\nCopyright: %s\nLicense: %s\n", strings.Join(cf.Files, " "), strings.TrimSpace(cf.Copyright), cf.License)
		if err := writeLicenseText(&b, srcDir, cf.License, cf.LicenseFile); err != nil {
			return "", fmt.Errorf("%s: copyright_files[%d]: %w", c.File, i, err)
		}
	}
	return b.String(), nil
}

// writeLicenseText writes a license's text as the body of its License
// field: the file's from the source tree, or a reference to Debian's copy
// in /usr/share/common-licenses.
func writeLicenseText(b *strings.Builder, srcDir, license, file string) error {
	switch {
	case file != "":
		text, err := readBeneath(srcDir, file)
		if err != nil {
			return fmt.Errorf("license_file: %w", err)
		}
		b.WriteString(indentLicense(string(text)))
	case spec.CommonLicenses[license] != "":
		fmt.Fprintf(b, " On Debian systems, the full text of the license can be found in\n /usr/share/common-licenses/%s.\n", spec.CommonLicenses[license])
	default:
		return fmt.Errorf("license: %s is not in /usr/share/common-licenses; set license_file to the license text in the source", license)
	}
	return nil
}

func indentLicense(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			b.WriteString(" .\n")
		} else {
			b.WriteString(" " + line + "\n")
		}
	}
	return b.String()
}

// initialUploadOverride applies while the changelog has one entry whose
// version ends in "-1": lintian only looks for a closed ITP bug in such a
// first upload (a release build, 1.5.3-1+deb12, is not one to it).
var initialUploadOverride = spec.LintianOverride{
	Tag: "initial-upload-closes-no-bugs",
	Reason: "Packages built by debforge for a private repository are not uploaded to Debian;\n" +
		"there is no ITP bug for the first changelog entry to close.",
}

// selfContainedPIE is the tag lintian gives a PIE that loads no library.
const selfContainedPIE = "shared-library-lacks-prerequisites"

// selfContainedPIEs lists the package's executables that lintian takes
// for libraries without prerequisites: PIEs that load no library (every
// Go program, static-pie C ones), as paths without the leading slash.
func selfContainedPIEs(contents files.Contents) ([]string, error) {
	var out []string
	for _, ct := range contents {
		if ct.Type != files.TypeFile || ct.Source == "" {
			continue
		}
		ok, err := hardening.SelfContainedPIE(ct.Source)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ct.Destination, err)
		}
		if ok {
			out = append(out, strings.TrimPrefix(ct.Destination, "/"))
		}
	}
	sort.Strings(out)
	return out, nil
}

// LintianOverrides renders the overrides file, each tag under its reason.
// dropped lists the base directories left out of data.tar (see baseDirs);
// pies the executables selfContainedPIEs found, unless the spec overrides
// their tag itself; hasHistory says the changelog has older entries than
// this revision's.
func LintianOverrides(c *spec.Component, dropped, pies []string, hasHistory bool) string {
	var b strings.Builder
	var overrides []spec.LintianOverride
	if !hasHistory && strings.HasSuffix(c.DebVersion(), "-1") {
		overrides = append(overrides, initialUploadOverride)
	}
	for _, o := range append(overrides, c.Package.LintianOverrides...) {
		for _, line := range strings.Split(strings.TrimSpace(o.Reason), "\n") {
			b.WriteString("# " + line + "\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", c.PackageName(), o.Tag)
	}
	if len(pies) > 0 && !slices.ContainsFunc(c.Package.LintianOverrides, func(o spec.LintianOverride) bool { return o.Tag == selfContainedPIE }) {
		b.WriteString("# A position-independent executable that loads no shared library (a Go\n# program, or a static-pie one) is not a library lacking its prerequisites.\n")
		for _, p := range pies {
			fmt.Fprintf(&b, "%s: %s [%s]\n", c.PackageName(), selfContainedPIE, p)
		}
	}
	for _, d := range dropped {
		fmt.Fprintf(&b, "# %s is created by base-files and owned by no package; shipping it would\n# make purging this package delete it.\n", strings.Trim(d, "./"))
		fmt.Fprintf(&b, "%s: missing-intermediate-directory [%s]\n", c.PackageName(), strings.TrimPrefix(d, "./"))
	}
	return b.String()
}

func checkCollisions(contents files.Contents) error {
	seen := map[string]bool{}
	var dup []string
	for _, ct := range contents {
		if ct.Type == files.TypeDir {
			continue
		}
		if seen[ct.Destination] {
			dup = append(dup, ct.Destination)
		}
		seen[ct.Destination] = true
	}
	if len(dup) > 0 {
		sort.Strings(dup)
		return fmt.Errorf("two sources for %s (the build installs it and package.contents adds it again)", strings.Join(dup, ", "))
	}
	return nil
}

// DefaultEpoch is the files' modification time when neither
// SOURCE_DATE_EPOCH, the spec nor the source says when the source was
// released (and for packages without a source, the keyring's).
var DefaultEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// LibraryWarning names the shared libraries a package ships beside its
// programs (what jq's make install does), and the two ways out.
func LibraryWarning(c *spec.Component, stageDir string) (string, error) {
	if c.IsMeta() {
		return "", nil
	}
	libs, err := LibrariesBesidePrograms(stageDir, c.Package.Exclude)
	if err != nil || len(libs) == 0 {
		return "", err
	}
	return fmt.Sprintf("%s ships the shared library %s beside its programs: Debian puts a library in a package of its own, named for its SONAME, so other packages can use it without the programs; build it with a spec of its own, or leave it out with package.exclude (and link the programs statically, e.g. configure --disable-shared)",
		c.PackageName(), strings.Join(libs, ", ")), nil
}
