package debian

import (
	"debug/elf"
	"io"
	"os"
)

// The ELF questions packaging asks of a built file. Each answers false
// for a file that is not ELF or cannot be read.

// IsELF reports whether the file at path starts with the ELF magic; an
// unreadable file is an error.
func IsELF(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == elf.ELFMAG, nil
}

// LinksShared reports whether an ELF file is dynamically linked against
// shared libraries (dpkg-shlibdeps has something to find).
func LinksShared(path string) bool {
	return elfSays(path, func(f *elf.File) bool {
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_DYNAMIC {
				libs, _ := f.ImportedLibraries()
				return len(libs) > 0
			}
		}
		return false
	})
}

// HasSymbols reports whether an ELF file still has a symbol table or
// debug information (strip has something to remove).
func HasSymbols(path string) bool {
	return elfSays(path, func(f *elf.File) bool {
		return f.Section(".symtab") != nil || f.Section(".debug_info") != nil
	})
}

// IsGoProgram reports whether an ELF file was built by the Go toolchain.
func IsGoProgram(path string) bool {
	return elfSays(path, func(f *elf.File) bool {
		return f.Section(".go.buildinfo") != nil || f.Section(".note.go.buildid") != nil
	})
}

// elfSays is what question answers of the ELF file at path; false for
// a file that is not ELF or cannot be read.
func elfSays(path string, question func(*elf.File) bool) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return question(f)
}
