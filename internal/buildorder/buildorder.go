// Package buildorder says which components a command covers and in
// which order they build: every component after those it names in
// after:, a cycle refused by name.
package buildorder

import (
	"fmt"
	"sort"
	"strings"

	"github.com/debforge/debforge/internal/spec"
	"github.com/debforge/debforge/internal/usage"
)

// Select returns the named components (all when names is empty or "all")
// plus everything they come after, in dependency order, minus except.
// A cycle is an error naming it.
func Select(set *spec.Set, names, except []string) ([]*spec.Component, error) {
	want := map[string]bool{}
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		for _, c := range set.Components {
			want[c.Name] = true
		}
	} else {
		var unknown []string
		for _, n := range names {
			if set.Get(n) == nil {
				unknown = append(unknown, n)
			}
			want[n] = true
		}
		if len(unknown) > 0 {
			return nil, usage.New(fmt.Errorf("unknown component %s", strings.Join(unknown, ", ")), "known: "+strings.Join(set.Names(), ", "))
		}
	}
	for _, e := range except {
		if set.Get(e) == nil {
			return nil, usage.New(fmt.Errorf("--except %s: unknown component", e), "known: "+strings.Join(set.Names(), ", "))
		}
	}
	order, err := Order(set)
	if err != nil {
		return nil, err
	}
	// Pull in prerequisites of wanted components, walking backwards.
	for i := len(order) - 1; i >= 0; i-- {
		if want[order[i].Name] {
			for _, d := range order[i].After {
				want[d] = true
			}
		}
	}
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	var out []*spec.Component
	for _, c := range order {
		if want[c.Name] && !skip[c.Name] {
			out = append(out, c)
		}
	}
	return out, nil
}

// Order sorts all components so each comes after its prerequisites, ties
// broken by name.
func Order(set *spec.Set) ([]*spec.Component, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []*spec.Component
	var stack []string
	var visit func(c *spec.Component) error
	visit = func(c *spec.Component) error {
		switch state[c.Name] {
		case done:
			return nil
		case visiting:
			i := indexOf(stack, c.Name)
			cycle := append(append([]string{}, stack[i:]...), c.Name)
			return usage.New(fmt.Errorf("dependency cycle: %s", strings.Join(cycle, " -> ")), "break it in one of these specs' after: lists")
		}
		state[c.Name] = visiting
		stack = append(stack, c.Name)
		ds := append([]string{}, c.After...)
		sort.Strings(ds)
		for _, d := range ds {
			if dc := set.Get(d); dc != nil {
				if err := visit(dc); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[c.Name] = done
		out = append(out, c)
		return nil
	}
	for _, c := range set.Components {
		if err := visit(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 0
}
