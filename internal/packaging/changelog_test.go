package packaging

import (
	"testing"
	"time"
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
