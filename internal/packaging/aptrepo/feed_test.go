package aptrepo

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Promotions reach subscribers as an Atom feed, newest first, one entry
// per package version and release however many architectures moved with
// it, the changelog text escaped as text; the front page lists them and
// names the feed.
func TestPromotionsFeedAndPage(t *testing.T) {
	repo := t.TempDir()
	cfg := testConfig(t, repo)
	archDeb(t, repo, "foo", "1.0", "1", "amd64")
	day := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if err := RecordPromotions(repo, []Promotion{
		{Release: "tc", Package: "foo", Version: "1.0-1", Arch: "amd64", Date: day, Changes: "First <script>alert(1)</script> & more."},
		{Release: "tc", Package: "foo", Version: "1.0-1", Arch: "arm64", Date: day, Changes: "First <script>alert(1)</script> & more."},
		{Release: "tc", Package: "bar", Version: "2.0-1", Arch: "all", Date: day.Add(time.Hour), Changes: "Second."},
	}); err != nil {
		t.Fatal(err)
	}
	if err := Publish(cfg); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(repo, FeedFile))
	if err != nil {
		t.Fatal(err)
	}
	var feed atomFeed
	if err := xml.Unmarshal(data, &feed); err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, data)
	}
	var titles []string
	for _, e := range feed.Entries {
		titles = append(titles, e.Title)
	}
	if got := strings.Join(titles, "; "); got != "bar 2.0-1 promoted to tc; foo 1.0-1 promoted to tc" {
		t.Errorf("entries %q", got)
	}
	if feed.Updated != "2026-12-01T10:00:00Z" || feed.ID != "http://127.0.0.1:1/"+FeedFile || feed.Entries[1].Content.Text != "First <script>alert(1)</script> & more." {
		t.Errorf("feed %+v", feed)
	}
	if strings.Contains(string(data), "<script>") {
		t.Errorf("changelog text not escaped:\n%s", data)
	}
	page, err := os.ReadFile(filepath.Join(repo, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<link rel="alternate" type="application/atom+xml" title="Test &lt;repo&gt;: promotions" href="promotions.atom">`,
		`<li data-package="bar" data-release="tc"><span class="date">2026-12-01 10:00 UTC</span> <a href="#pkg-bar">bar</a> 2.0-1 to tc</li>`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	parsePage(t, repo)
}
