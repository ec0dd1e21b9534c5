package debian

import (
	"fmt"
	"regexp"
	"strings"

	"pault.ag/go/debian/dependency"
)

// relationRe is one relation of a binary package (policy 7.1):
// name[:arch-qualifier] [(op version)]. Architecture lists and build
// profiles belong to source packages' Build-Depends only (apt cannot
// parse them in a binary package's fields), and debforge substitutes no
// ${…} variables.
var relationRe = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+)(:any)?\s*(\(\s*(<<|<=|=|>=|>>)\s*([^()\s]+)\s*\))?$`)

// CheckRelation validates one entry of a binary package's relation field
// (field: depends, pre_depends, recommends, suggests, provides,
// conflicts, breaks, replaces), returning what is wrong or "". Only
// dependency fields may have alternatives; provides names packages
// without an architecture qualifier and only "=" versions.
func CheckRelation(expr, field string) string {
	alts := strings.Split(expr, "|")
	if len(alts) > 1 && field != "depends" && field != "pre_depends" && field != "recommends" && field != "suggests" {
		return fmt.Sprintf("alternatives (|) are not allowed in %s: %q", field, expr)
	}
	for _, a := range alts {
		a = strings.TrimSpace(a)
		m := relationRe.FindStringSubmatch(a)
		if m == nil || strings.Contains(a, "${") {
			return fmt.Sprintf("invalid dependency %q: %s", a, relationProblem(a))
		}
		if m[5] != "" {
			if err := CheckVersion(m[5]); err != nil {
				return fmt.Sprintf("invalid dependency %q: version %v", a, err)
			}
		}
		if field == "provides" && m[2] != "" {
			return fmt.Sprintf("provides names a package without an architecture qualifier: %q", a)
		}
		if field == "provides" && m[4] != "" && m[4] != "=" {
			return fmt.Sprintf("provides allows only exact versions (=): %q", a)
		}
	}
	return ""
}

// relationProblem says what is wrong with a relation the grammar refused,
// for the most common mistakes.
func relationProblem(a string) string {
	switch {
	case strings.Contains(a, "${"):
		return "debforge substitutes no ${…} variables (shared library dependencies are computed from the binaries)"
	case strings.ContainsAny(a, "[]"):
		return "an architecture list is for a source package's Build-Depends only; apt cannot parse it in a binary package"
	case strings.ContainsAny(a, "<>") && !strings.Contains(a, "("):
		return "a build profile (<…>) is for Build-Depends only, and a version needs parentheses: name (>= 1.0)"
	case strings.Contains(a, ":") && !strings.Contains(a, "("):
		return "the only architecture qualifier a binary package's relation may carry is :any"
	}
	return "want name[:any] [(<<|<=|=|>=|>> version)]"
}

// Relation is one package a relation field names, with its version
// constraint ("" or "op version").
type Relation struct {
	Name, Constraint string
}

// FirstAlternatives parses relation fields such as dpkg-shlibdeps's
// Depends ("libc6 (>= 2.34), libfoo1 | libbar1") and returns each
// relation's first alternative: the package a binary was linked against.
func FirstAlternatives(fields []string) ([]Relation, error) {
	var out []Relation
	for _, f := range fields {
		if strings.TrimSpace(f) == "" {
			continue
		}
		dep, err := dependency.Parse(f)
		if err != nil {
			return nil, fmt.Errorf("parse relations %q: %w", f, err)
		}
		for _, r := range dep.Relations {
			if len(r.Possibilities) == 0 {
				continue
			}
			p := r.Possibilities[0]
			rel := Relation{Name: p.Name}
			if p.Version != nil {
				rel.Constraint = p.Version.Operator + " " + p.Version.Number
			}
			out = append(out, rel)
		}
	}
	return out, nil
}
