package testutil

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Must ends the test when a setup step failed: setup that goes wrong
// without a word makes a test pass or fail for another reason than the
// one it names.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// LastLines is the last n lines of s, for a failure message that shows
// how a long output ended.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Alive reports whether pid is a running (not zombie) process.
func Alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...; comm may hold spaces, so cut after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// DebianMirror is the first URIs line of this machine's Debian sources,
// so the tests' roots and guests use the mirror apt does; "" when there
// is none.
func DebianMirror() string {
	data, err := os.ReadFile("/etc/apt/sources.list.d/debian.sources")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "URIs:"); ok {
			return strings.Fields(v)[0]
		}
	}
	return ""
}

// TamperInPlace changes the file at path as change says, writing into the
// same inode (same size) and putting its modification time back: the
// tampering a cache keyed by inode, size and mtime alone would miss.
func TamperInPlace(t testing.TB, path string, change func(data []byte)) {
	t.Helper()
	fi, err := os.Stat(path)
	Must(t, err)
	data, err := os.ReadFile(path)
	Must(t, err)
	change(data)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	Must(t, err)
	_, err = f.WriteAt(data, 0)
	Must(t, err)
	Must(t, f.Close())
	Must(t, os.Chtimes(path, fi.ModTime(), fi.ModTime()))
}
