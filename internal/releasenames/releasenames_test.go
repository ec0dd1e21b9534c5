package releasenames

import (
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/spec"
)

// A relation is known when one of its alternatives is; the error names
// the field and every alternative of one that is not.
func TestUnknownInNamesTheFieldAndEveryAlternative(t *testing.T) {
	c := &spec.Component{Name: "tool", File: "tool.yaml",
		Build:   &spec.Build{BuildDepends: []string{"gcc", "libfoo-dev | libbar-dev"}},
		Package: &spec.Package{Depends: []string{"libc6 (>= 2.36)", "adduser | passwd:any"}}}
	known := func(n string) bool { return n == "gcc" || n == "libc6" || n == "passwd" }
	errs := unknownIn(c, known, "bookworm")
	if len(errs) != 1 {
		t.Fatalf("want one unknown relation, got %v", errs)
	}
	if msg := errs[0].Error(); !strings.Contains(msg, "build.build_depends[1]") || !strings.Contains(msg, `no package "libfoo-dev | libbar-dev" in bookworm`) {
		t.Errorf("error: %s", msg)
	}
}

// A package named like one of the release's is warned about, with the
// rename that avoids it; another name is not.
func TestCollisionWarnsOfTheReleasesName(t *testing.T) {
	c := &spec.Component{Name: "jq", Version: "1.7.1"}
	names := map[string]bool{"jq": true}
	if w := Collision(c, names); !strings.Contains(w, `package name "jq" is taken`) || !strings.Contains(w, `"upstream-jq"`) {
		t.Errorf("warning: %q", w)
	}
	if w := Collision(&spec.Component{Name: "acme-jq", Version: "1"}, names); w != "" {
		t.Errorf("acme-jq warned: %q", w)
	}
}
