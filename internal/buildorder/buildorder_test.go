package buildorder

import (
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/spec"
)

func set(comps ...*spec.Component) *spec.Set { return &spec.Set{Components: comps} }

func comp(name string, after ...string) *spec.Component {
	return &spec.Component{Name: name, After: after}
}

func names(cs []*spec.Component) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return strings.Join(out, " ")
}

func TestOrderAndSelect(t *testing.T) {
	s := set(comp("meta", "bb", "aa"), comp("aa"), comp("bb", "aa"), comp("cc"))
	order, err := Order(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(order); got != "aa bb meta cc" {
		t.Errorf("order = %s", got)
	}
	sel, err := Select(s, []string{"bb"}, nil)
	if err != nil || names(sel) != "aa bb" {
		t.Errorf("select bb = %s %v", names(sel), err)
	}
	sel, _ = Select(s, []string{"all"}, []string{"cc"})
	if names(sel) != "aa bb meta" {
		t.Errorf("except cc = %s", names(sel))
	}
	if _, err := Select(s, []string{"zz"}, nil); err == nil || !strings.Contains(err.Error(), "unknown component zz") {
		t.Errorf("unknown: %v", err)
	}
}

func TestCycleIsNamed(t *testing.T) {
	_, err := Order(set(comp("aa", "bb"), comp("bb", "cc"), comp("cc", "aa")))
	if err == nil || !strings.Contains(err.Error(), "aa -> bb -> cc -> aa") {
		t.Errorf("cycle error = %v", err)
	}
}
