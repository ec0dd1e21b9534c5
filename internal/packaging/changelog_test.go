package packaging

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/debforge/debforge/internal/spec"
)

// Issue 11 item 7: the helpers that carry the history: the first entry
// of a changelog is dropped up to its trailer line, and its date read.
func TestChangelogHistoryHelpers(t *testing.T) {
	text := []byte("p (1.0-2) unstable; urgency=medium\n\n  * Two.\n\n -- A B <a@example.org>  Mon, 01 Jan 2024 00:00:01 +0000\n\n" +
		"p (1.0-1) unstable; urgency=medium\n\n  * One.\n\n -- A B <a@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n")
	rest := string(dropFirstEntry(text))
	if rest != "\np (1.0-1) unstable; urgency=medium\n\n  * One.\n\n -- A B <a@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n" {
		t.Errorf("dropFirstEntry = %q", rest)
	}
	if got := dropFirstEntry([]byte("no trailer\n")); got != nil {
		t.Errorf("a changelog without a trailer line gave %q", got)
	}
	d, ok := newestDate(text)
	if !ok || !d.Equal(time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Errorf("newestDate = %v, %v", d, ok)
	}
	if _, ok := newestDate([]byte("garbage")); ok {
		t.Error("a date read from garbage")
	}
}

// The spec's changes text stays inside its entry: a heading or a trailer
// written into it is indented, so the changelog still has one entry (and
// dpkg-parsechangelog reads it), and no later revision carries a fake one.
func TestChangesTextCannotAddAnEntry(t *testing.T) {
	c := fixture(t).Component
	c.Changes = "Fix the build.\n\n -- Mallory <m@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n\nhello-up (99.0-1) unstable; urgency=high\n\n  * Fake.\n- second item\n"
	text := changelogText(t, c, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	headings, trailers := 0, 0
	for _, line := range strings.Split(text, "\n") {
		if line != "" && line[0] != ' ' {
			headings++
		}
		if strings.HasPrefix(line, " -- ") {
			trailers++
		}
	}
	if headings != 1 || trailers != 1 || !strings.Contains(text, "\n  * second item\n") {
		t.Errorf("%d headings and %d trailers, want 1 and 1:\n%s", headings, trailers, text)
	}
}

// A revision's entry is dated when the revision was made, as the spec
// records it (bump sets date:), not from the source's release date: an
// entry written today is not dated 2023.
func TestChangelogEntryTakesTheRecordedDate(t *testing.T) {
	c := fixture(t).Component
	c.Date = "2026-12-06T12:00:00Z"
	text := changelogText(t, c, time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC))
	if !strings.Contains(text, "  Sun, 06 Dec 2026 12:00:00 +0000\n") {
		t.Errorf("entry not dated from date: 2026-12-06T12:00:00Z:\n%s", text)
	}
}

// changelogText renders c's changelog (no history) and returns its text.
func changelogText(t *testing.T, c *spec.Component, mtime time.Time) string {
	t.Helper()
	gz, err := Changelog(c, mtime, nil)
	if err != nil {
		t.Fatal(err)
	}
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
