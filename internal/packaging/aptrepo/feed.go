package aptrepo

import (
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/debforge/debforge/internal/atomicfile"
)

// FeedFile is the Atom feed of promotions at the repository's root, so
// an admin can subscribe to what reaches the releases hosts follow.
const FeedFile = "promotions.atom"

// feedEntries is how many of the newest promotions the feed holds.
const feedEntries = 50

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    atomLink    `xml:"link"`
	Content atomContent `xml:"content"`
}

type atomContent struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// writeFeed writes the feed of the newest promotions ps; nothing when
// the repository has no record of any.
func writeFeed(cfg Config, ps []Promotion) error {
	if len(ps) == 0 {
		return nil
	}
	data, err := renderFeed(cfg, ps)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(cfg.Dir, FeedFile), data, 0o644)
}

// renderFeed is the feed of ps: one entry per package version and
// release (its architectures promoted together are one entry), newest
// first.
func renderFeed(cfg Config, ps []Promotion) ([]byte, error) {
	base := strings.TrimSuffix(repoURL(cfg), "/")
	feed := atomFeed{Title: cfg.Label + ": promotions", ID: base + "/" + FeedFile,
		Link:   []atomLink{{Rel: "self", Href: base + "/" + FeedFile}, {Href: base + "/" + PageFile}},
		Author: atomAuthor{Name: cfg.Label}}
	for _, p := range newestByVersion(ps, feedEntries) {
		date := p.Date.UTC().Format(time.RFC3339)
		if feed.Updated == "" {
			feed.Updated = date
		}
		feed.Entries = append(feed.Entries, atomEntry{
			Title: fmt.Sprintf("%s %s promoted to %s", p.Package, p.Version, p.Release),
			ID:    base + "/" + FeedFile + "#" + p.Release + "/" + p.Package + "/" + p.Version, Updated: date,
			Link:    atomLink{Href: base + "/" + PageFile + "#pkg-" + p.Package},
			Content: atomContent{Type: "text", Text: p.Changes},
		})
	}
	out, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// newestByVersion returns the newest n promotions, newest first, one per
// package version and release (its architectures are promoted together).
func newestByVersion(ps []Promotion, n int) []Promotion {
	var out []Promotion
	seen := map[string]bool{}
	for i := len(ps) - 1; i >= 0 && len(out) < n; i-- {
		p := ps[i]
		if key := p.Release + "/" + p.Package + "/" + p.Version; !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	return out
}

// repoURL is where hosts reach the repository: url:, or this machine's
// file:// path.
func repoURL(cfg Config) string {
	if cfg.URL != "" {
		return cfg.URL
	}
	abs, _ := filepath.Abs(cfg.Dir)
	return "file://" + abs
}
