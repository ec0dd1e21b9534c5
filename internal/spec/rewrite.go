package spec

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Edit sets the scalar at Path (e.g. ["source", "sum"]) to Value.
type Edit struct {
	Path  []string
	Value string
}

// Has reports whether data has a scalar at path.
func Has(data []byte, path ...string) bool {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return false
	}
	n := lookup(doc.Content[0], path)
	return n != nil && n.Kind == yaml.ScalarNode
}

// Rewrite returns data with each edited scalar replaced where it stands,
// in its own quoting style: every other byte (comments, order, layout)
// is kept. It uses the node tree only for positions. Each path must name
// an existing single-line scalar.
func Rewrite(data []byte, edits []Edit) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for _, e := range edits {
		n := lookup(doc.Content[0], e.Path)
		field := strings.Join(e.Path, ".")
		if n == nil || n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: no such scalar to rewrite", field)
		}
		if n.Line < 1 || n.Line > len(lines) {
			return nil, fmt.Errorf("%s: position %d out of range", field, n.Line)
		}
		line := string(lines[n.Line-1])
		start := n.Column - 1
		end, err := scalarEnd(line, start, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		lines[n.Line-1] = []byte(line[:start] + quoteLike(n.Style, e.Value) + line[end:])
	}
	return bytes.Join(lines, nil), nil
}

func lookup(n *yaml.Node, path []string) *yaml.Node {
	for _, k := range path {
		n = child(n, k)
		if n == nil {
			return nil
		}
	}
	return n
}

// scalarEnd finds where the scalar starting at start ends on its line.
func scalarEnd(line string, start int, n *yaml.Node) (int, error) {
	if start < 0 || start >= len(line) {
		return 0, fmt.Errorf("column %d out of range", n.Column)
	}
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		for i := start + 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			}
		}
	case yaml.SingleQuotedStyle:
		for i := start + 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			}
		}
	case 0:
		if strings.HasPrefix(line[start:], n.Value) {
			return start + len(n.Value), nil
		}
	}
	return 0, fmt.Errorf("only a single-line plain or quoted value can be rewritten")
}

func quoteLike(style yaml.Style, v string) string {
	switch style {
	case yaml.DoubleQuotedStyle:
		return strconv.Quote(v)
	case yaml.SingleQuotedStyle:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return v
}
