package filehash

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/testutil"
)

// A memo computes once per identity of its files, across runs (a new
// Memo on the same directory), and again when any of them changes, even
// behind a modification time put back; without a directory it computes
// every time.
func TestMemoComputesOncePerIdentity(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	testutil.Must(t, os.WriteFile(a, []byte("one"), 0o644))
	testutil.Must(t, os.WriteFile(b, []byte("two"), 0o644))
	calls := 0
	compute := func() (string, error) { calls++; return "v" + string(rune('0'+calls)), nil }
	memo := Memo{Dir: filepath.Join(dir, "memo")}
	get := func(m Memo, want string, wantCalls int) {
		t.Helper()
		got, err := m.Of("test", compute, a, b)
		if err != nil || got != want || calls != wantCalls {
			t.Fatalf("Of = %q, %v after %d computes; want %q after %d", got, err, calls, want, wantCalls)
		}
	}
	get(memo, "v1", 1)
	get(memo, "v1", 1)
	get(Memo{Dir: memo.Dir}, "v1", 1) // the next run

	testutil.TamperInPlace(t, b, func(data []byte) { copy(data, "owt") })
	get(memo, "v2", 2)

	testutil.Must(t, os.Chtimes(a, time.Unix(1, 0), time.Unix(1, 0)))
	get(memo, "v3", 3)

	get(Memo{}, "v4", 4)
	get(Memo{}, "v5", 5)

	testutil.Must(t, os.Remove(a))
	if _, err := memo.Of("test", compute, a, b); err == nil || calls != 5 {
		t.Errorf("a missing file: err %v after %d computes; want an error and no compute", err, calls)
	}
}

// What compute depends on besides the files (Memo.Input) is part of the
// key: another input computes again, the first one's result stays.
func TestMemoInputIsPartOfTheKey(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	testutil.Must(t, os.WriteFile(a, []byte("one"), 0o644))
	of := func(input string) string {
		t.Helper()
		got, err := Memo{Dir: filepath.Join(dir, "memo"), Input: input}.Of("test", func() (string, error) { return "for " + input, nil }, a)
		testutil.Must(t, err)
		return got
	}
	if got := of("1.0-1"); got != "for 1.0-1" {
		t.Errorf("first input: %q", got)
	}
	if got := of("1.0-2"); got != "for 1.0-2" {
		t.Errorf("another input got %q, the first input's result", got)
	}
	if got := of("1.0-1"); got != "for 1.0-1" {
		t.Errorf("the first input again: %q", got)
	}
}
