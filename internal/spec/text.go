package spec

import (
	"fmt"
	"reflect"
	"regexp"

	"github.com/debforge/debforge/internal/debian"

	"gopkg.in/yaml.v3"
)

// multiLine lists the field paths (list indexes as [], map keys as *)
// whose text may span lines: nothing in them becomes a control-file,
// Release or .sources field of its own. Every other text field ends up on
// one line of some deb822 file, where a newline would start a field of the
// attacker's choosing ("Essential: yes", a fake "SHA256:" block).
var multiLine = map[string]bool{
	"description":                        true,
	"changes":                            true,
	"build.steps[]":                      true,
	"package.contents[].replace[].from":  true,
	"package.contents[].replace[].to":    true,
	"package.scripts[].vars.*":           true,
	"package.lintian_overrides[].reason": true,
}

// multiLineFor returns the multi-line fields of the decoded type: none in
// debforge.yaml, whose every value lands on one line of Release or .sources.
func multiLineFor(v any) map[string]bool {
	if _, ok := v.(*Component); ok {
		return multiLine
	}
	return nil
}

var (
	indexRe = regexp.MustCompile(`\[[0-9]+\]`)
	// mapKeyRe matches a map key element of a field path below env, vars.
	mapKeyRe = regexp.MustCompile(`\.(env|vars)\.[^.\[]+`)
)

// pattern turns a field path into its multiLine key: "build.steps[3]" ->
// "build.steps[]", "package.scripts[0].vars.msg" -> "package.scripts[].vars.*".
func pattern(path string) string {
	return mapKeyRe.ReplaceAllString(indexRe.ReplaceAllString(path, "[]"), ".$1.*")
}

// checkText walks the node tree against the Go type and reports every text
// value (and map key) holding a control character where one line is
// expected. Running on nodes gives each problem its line and column.
func checkText(p *problems, n *yaml.Node, t reflect.Type, path string, multiOK map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f, ok := fields[n.Content[i].Value]; ok {
				checkText(p, n.Content[i+1], f, join(path, n.Content[i].Value), multiOK)
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			checkText(p, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), multiOK)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if r := debian.BadChar(k.Value, false); r >= 0 {
				p.add(k, path, "use letters, digits and '_' in names", "key %q contains the control character %U", k.Value, r)
				continue
			}
			checkText(p, n.Content[i+1], t.Elem(), join(path, k.Value), multiOK)
		}
	case t.Kind() == reflect.String && n.Kind == yaml.ScalarNode:
		multi := multiOK[pattern(path)]
		if r := debian.BadChar(n.Value, multi); r >= 0 {
			hint := "write it on one line, without control characters"
			if multi {
				hint = "only newlines and tabs are allowed here"
			}
			p.add(n, path, hint, "contains the control character %U (%q)", r, string(r))
		}
	}
}

// UnsafeMode reports whether an octal file mode is setuid, setgid or
// world-writable: a package shipping one hands every local user root, a
// group or a file they can rewrite.
func UnsafeMode(m uint64) bool { return m&0o6000 != 0 || m&0o002 != 0 }
