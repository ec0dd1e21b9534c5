package buildkey

import (
	"testing"

	"github.com/debforge/debforge/internal/spec"
)

// Issue 11 item 8: settings that never reach a .deb leave the cache key
// alone; those that do (maintainer) change it.
func TestRepoKeyOnlyCoversPackageBytes(t *testing.T) {
	base := spec.Repo{Maintainer: "A <a@example.org>", Origin: "o", Label: "l", Suite: "stable", Codename: "c",
		Component: "main", Description: "d", Keep: 3, KeyName: "k", URL: "file:///x", File: "/a/debforge.yaml"}
	k := Repo(&base)
	same := base
	same.URL, same.Description, same.ValidDays, same.Label, same.Origin, same.Keep, same.File = "https://apt.example.org", "other", 7, "L", "O", 5, "/b/debforge.yaml"
	if Repo(&same) != k {
		t.Error("url, description, valid_days, label, origin or keep changed the cache key")
	}
	other := base
	other.Maintainer = "B <b@example.org>"
	if Repo(&other) == k {
		t.Error("the maintainer, which every package carries, did not change the cache key")
	}
}

// Two loads of the same debforge.yaml give the same key: a pointer field
// (go_toolchain) must not put its address into the hash.
func TestRepoKeyIgnoresPointerIdentity(t *testing.T) {
	a := spec.Repo{Maintainer: "M <m@example.org>", GoToolchain: &spec.GoToolchain{Version: "1.26.8", Sums: map[string]string{"amd64": "h1:x"}}}
	b := a
	b.GoToolchain = &spec.GoToolchain{Version: "1.26.8", Sums: map[string]string{"amd64": "h1:x"}}
	if Repo(&a) != Repo(&b) {
		t.Error("the same settings loaded twice give different keys")
	}
}
