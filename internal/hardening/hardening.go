// Package hardening reads an ELF file and reports which of Debian's
// hardening features it lacks: PIE, stack protector, fortified libc calls,
// read-only relocations and immediate binding. The rules are those of
// devscripts' hardening-check, read in Go so no binutils are needed.
package hardening

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/debforge/debforge/internal/debian"
)

// Feature is one hardening property of an ELF file.
type Feature string

// The features hardening-check requires.
const (
	PIE            Feature = "pie"
	StackProtector Feature = "stackprotector"
	Fortify        Feature = "fortify"
	RELRO          Feature = "relro"
	BindNow        Feature = "bindnow"
)

// Fix says which flag brings a missing feature back.
func (f Feature) Fix() string {
	switch f {
	case PIE:
		return "link with -pie and compile with -fPIE (Debian's gcc does both by default unless the Makefile overrides it)"
	case StackProtector:
		return "compile with -fstack-protector-strong ({{.CFLAGS}}); a program with no array on its stack has nothing to protect and looks the same to hardening-check"
	case Fortify:
		return "compile with -O2 -D_FORTIFY_SOURCE=2 ({{.CPPFLAGS}} and {{.CFLAGS}})"
	case RELRO:
		return "link with -Wl,-z,relro ({{.LDFLAGS}})"
	case BindNow:
		return "link with -Wl,-z,now ({{.LDFLAGS}})"
	}
	return ""
}

// Report is what Check found in one file.
type Report struct {
	Path    string
	Missing []Feature
}

// fortifiable lists the libc functions that have a __NAME_chk variant
// (hardening-check's %libc table).
var fortifiable = toSet("asprintf confstr dprintf fdelt fgets fgets_unlocked fgetws fgetws_unlocked " +
	"fprintf fread fread_unlocked fwprintf getcwd getdomainname getgroups gethostname getlogin_r gets " +
	"getwd longjmp mbsnrtowcs mbsrtowcs mbstowcs memcpy memmove mempcpy memset obstack_printf " +
	"obstack_vprintf poll ppoll pread64 pread printf ptsname_r read readlink readlinkat realpath recv " +
	"recvfrom snprintf sprintf stpcpy stpncpy strcat strcpy strncat strncpy swprintf syslog ttyname_r " +
	"vasprintf vdprintf vfprintf vfwprintf vprintf vsnprintf vsprintf vswprintf vsyslog vwprintf wcpcpy " +
	"wcpncpy wcrtomb wcscat wcscpy wcsncat wcsncpy wcsnrtombs wcsrtombs wcstombs wctomb wmemcpy wmemmove " +
	"wmempcpy wmemset wprintf")

func toSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// ErrNotELF means the file is not an ELF object.
var ErrNotELF = errors.New("not an ELF file")

// Check reports the hardening features path lacks. A shared library is
// not required to be PIE; a feature that cannot be judged (no dynamic
// symbols, no libc call that has a checked variant) is not reported.
func Check(path string) (Report, error) {
	r := Report{Path: path}
	if ok, err := debian.IsELF(path); err != nil || !ok {
		return r, errors.Join(err, ErrNotELF)
	}
	f, err := elf.Open(path)
	if err != nil {
		return r, err
	}
	defer f.Close()
	if f.Type != elf.ET_DYN && f.Type != elf.ET_EXEC {
		return r, nil // relocatable objects and core files are not checked
	}
	if f.Type == elf.ET_EXEC {
		r.Missing = append(r.Missing, PIE)
	}
	undef, err := undefinedFuncs(f)
	if err != nil {
		return r, fmt.Errorf("read symbols of %s: %w", path, err)
	}
	if len(undef) > 0 && !undef["__stack_chk_fail"] {
		r.Missing = append(r.Missing, StackProtector)
	}
	if missesFortify(undef) {
		r.Missing = append(r.Missing, Fortify)
	}
	if !hasProg(f, elf.PT_GNU_RELRO) {
		r.Missing = append(r.Missing, RELRO)
	}
	now, err := bindNow(f)
	if err != nil {
		return r, fmt.Errorf("read dynamic section of %s: %w", path, err)
	}
	if !now {
		r.Missing = append(r.Missing, BindNow)
	}
	return r, nil
}

// undefinedFuncs returns the names of the functions the file imports, as
// hardening-check reads them from "readelf -sW": FUNC, IFUNC or NOTYPE
// symbols that are undefined, without their version suffix.
func undefinedFuncs(f *elf.File) (map[string]bool, error) {
	syms, err := f.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range syms {
		t := elf.ST_TYPE(s.Info)
		if s.Section != elf.SHN_UNDEF || (t != elf.STT_FUNC && t != elf.STT_GNU_IFUNC && t != elf.STT_NOTYPE) || s.Name == "" {
			continue
		}
		name, _, _ := strings.Cut(s.Name, "@")
		out[name] = true
	}
	return out, nil
}

// missesFortify is hardening-check's rule: no __NAME_chk import while at
// least one fortifiable NAME is imported.
func missesFortify(undef map[string]bool) bool {
	unprotected := false
	for name := range fortifiable {
		if undef["__"+name+"_chk"] {
			return false
		}
		unprotected = unprotected || undef[name]
	}
	return unprotected
}

func hasProg(f *elf.File, t elf.ProgType) bool {
	for _, p := range f.Progs {
		if p.Type == t {
			return true
		}
	}
	return false
}

// bindNow reports DT_BIND_NOW, DF_BIND_NOW in DT_FLAGS or DF_1_NOW in
// DT_FLAGS_1. Like hardening-check, a file with no dynamic section (a
// fully static executable) does not have it.
func bindNow(f *elf.File) (bool, error) {
	if !hasProg(f, elf.PT_DYNAMIC) {
		return false, nil
	}
	if v, err := f.DynValue(elf.DT_BIND_NOW); err != nil {
		return false, err
	} else if len(v) > 0 {
		return true, nil
	}
	flags, err := f.DynValue(elf.DT_FLAGS)
	if err != nil {
		return false, err
	}
	for _, v := range flags {
		if v&uint64(elf.DF_BIND_NOW) != 0 {
			return true, nil
		}
	}
	flags1, err := f.DynValue(elf.DT_FLAGS_1)
	if err != nil {
		return false, err
	}
	for _, v := range flags1 {
		if v&uint64(elf.DF_1_NOW) != 0 {
			return true, nil
		}
	}
	return false, nil
}

// CheckTree checks every ELF executable and shared library under dir,
// except Go binaries (their toolchain hardens them its own way and has no
// libc calls to fortify). It returns the files that lack something, with
// paths relative to dir, sorted.
func CheckTree(dir string) ([]Report, error) {
	var out []Report
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if debian.IsGoProgram(p) {
			return nil
		}
		r, err := Check(p)
		if errors.Is(err, ErrNotELF) && !errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(r.Missing) > 0 {
			rel, _ := filepath.Rel(dir, p)
			r.Path = "/" + filepath.ToSlash(rel)
			out = append(out, r)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// String names the file, what it lacks and how to fix each.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s lacks hardening:", r.Path)
	for _, m := range r.Missing {
		fmt.Fprintf(&b, " %s (%s);", m, m.Fix())
	}
	return strings.TrimSuffix(b.String(), ";")
}

// SelfContainedPIE says whether path is a position-independent
// executable that loads no shared library: a Go program (the go linker
// resolves everything itself) or a static-pie one. lintian reads its ELF
// type as a shared library's and reports it as one lacking
// prerequisites.
func SelfContainedPIE(path string) (bool, error) {
	if ok, err := debian.IsELF(path); err != nil || !ok {
		return false, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return false, nil // an ELF header over something else: not a program
	}
	defer f.Close()
	if f.Type != elf.ET_DYN || !hasProg(f, elf.PT_DYNAMIC) {
		return false, nil
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		return false, err
	}
	flags1, err := f.DynValue(elf.DT_FLAGS_1)
	if err != nil {
		return false, fmt.Errorf("read dynamic section of %s: %w", path, err)
	}
	for _, v := range flags1 {
		if v&uint64(elf.DF_1_PIE) != 0 {
			return true, nil
		}
	}
	return false, nil
}
