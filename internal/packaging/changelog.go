package packaging

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/debforge/debforge/internal/spec"
)

// Changelog renders changelog.Debian.gz: this revision's entry, then the
// history of earlier revisions (newest first). gzip carries no name and no
// timestamp, so the bytes depend only on the inputs.
func Changelog(c *spec.Component, mtime time.Time, history []byte) ([]byte, error) {
	date := mtime.UTC()
	if t, err := time.Parse(time.RFC3339, c.Date); err == nil {
		date = t.UTC() // when this revision was made, recorded in the spec
	}
	// A new revision of the same source keeps the source's time for its
	// files, but its entry must be newer than the last one (lintian:
	// latest-changelog-entry-without-new-date): one second after it.
	if last, ok := newestDate(history); ok && !date.After(last) {
		date = last.Add(time.Second)
	}
	text := fmt.Sprintf("%s (%s) %s; urgency=medium\n\n%s\n\n -- %s  %s\n",
		c.PackageName(), c.DebVersion(), distribution(c.DebVersion()), changeLines(c.Changes), c.Maintainer,
		date.Format(time.RFC1123Z))
	if h := bytes.TrimSpace(history); len(h) > 0 {
		text += "\n" + string(h) + "\n"
	}
	var buf bytes.Buffer
	z, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := z.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// changeLines renders the spec's changes text as the entry's body: each
// line indented, a line starting with "* " or "- " a new item, blank
// lines dropped. No line of it can start at the margin (a heading) or be
// " -- " (a trailer): whatever the text says, it stays inside this entry.
func changeLines(changes string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(changes), "\n") {
		line = strings.TrimSpace(line)
		item, isItem := strings.CutPrefix(line, "* ")
		if !isItem {
			item, isItem = strings.CutPrefix(line, "- ")
		}
		switch {
		case line == "":
		case isItem:
			out = append(out, "  * "+strings.TrimSpace(item))
		case len(out) == 0:
			out = append(out, "  * "+line)
		default:
			out = append(out, "    "+line)
		}
	}
	return strings.Join(out, "\n")
}

// distribution is the changelog entry's distribution: the release a
// version was built for (its suffix says which), or "unstable" for a
// build without targets, which no one release owns.
func distribution(version string) string {
	if r, ok := debian.ReleaseOfVersion(version); ok {
		return r.Codename
	}
	return "unstable"
}

// ChangelogHistory reads the changelog of a published .deb of the same
// package and returns the entries older than version: all of them when the
// .deb is an earlier version, all but its first when it is this version
// itself (a rebuild of a published revision keeps the same history).
func ChangelogHistory(debPath, pkg, version string) ([]byte, error) {
	name := "./usr/share/doc/" + pkg + "/changelog.Debian.gz"
	d, err := debfile.ReadFile(debPath, debfile.Options{Data: true, BodyOf: name})
	if err != nil {
		return nil, err
	}
	var gz []byte
	for _, e := range d.Data {
		if e.Name == name {
			gz = e.Body
		}
	}
	if gz == nil {
		return nil, nil // not made by debforge: no history to carry
	}
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", debPath, name, err)
	}
	text, err := io.ReadAll(z)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", debPath, name, err)
	}
	if d.Get("Version") == version {
		text = dropFirstEntry(text)
	}
	return bytes.TrimSpace(text), nil
}

// dropFirstEntry removes the first changelog entry: everything up to and
// including its " -- " trailer line.
func dropFirstEntry(text []byte) []byte {
	for i := 0; i < len(text); {
		end := bytes.IndexByte(text[i:], '\n')
		if end < 0 {
			return nil
		}
		if bytes.HasPrefix(text[i:], []byte(" -- ")) {
			return text[i+end+1:]
		}
		i += end + 1
	}
	return nil
}

// newestDate is the date of the first entry's trailer line in a changelog.
func newestDate(text []byte) (time.Time, bool) {
	for _, line := range strings.Split(string(text), "\n") {
		if rest, ok := strings.CutPrefix(line, " -- "); ok {
			_, date, ok := strings.Cut(rest, ">  ")
			if !ok {
				return time.Time{}, false
			}
			t, err := time.Parse(time.RFC1123Z, strings.TrimSpace(date))
			return t.UTC(), err == nil
		}
	}
	return time.Time{}, false
}
