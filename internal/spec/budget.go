package spec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"text/template/parse"

	"gopkg.in/yaml.v3"
)

// Limits on what one spec file may cost to load. A spec is data someone
// else may have written: YAML aliases can multiply a 2 KB file into
// gigabytes, and Go templates can loop. Real specs are far below these.
const (
	// MaxSpecFileBytes bounds the size of a spec or settings file.
	MaxSpecFileBytes = 1 << 20
	// MaxSpecNodes bounds the YAML nodes of a file with every alias expanded.
	MaxSpecNodes = 100_000
	// MaxSpecExpandedBytes bounds the text of its scalars, aliases expanded.
	MaxSpecExpandedBytes = 2 << 20
	// MaxTemplateOutput bounds what one template may render.
	MaxTemplateOutput = 64 << 10
)

// readSpecFile reads a regular file of at most MaxSpecFileBytes: a FIFO,
// a device (a link to /dev/zero) or a huge file is refused, not read.
func readSpecFile(path string) ([]byte, error) {
	f, err := OpenBeneath(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("%w (a spec must be a regular file in the specs directory; a link may not lead out of it)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxSpecFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a spec may have", path, st.Size(), MaxSpecFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSpecFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSpecFileBytes {
		return nil, fmt.Errorf("%s: more than the %d bytes a spec may have", path, MaxSpecFileBytes)
	}
	return data, nil
}

// OpenBeneath opens the regular file rel beneath dir: a symlink may point
// elsewhere inside dir, but one that leaves it (a spec linked to a signing
// key or /etc/shadow) is refused before anything is read, and so is
// anything that is not a regular file.
func OpenBeneath(dir, rel string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, rel), err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", filepath.Join(dir, rel))
	}
	return f, nil
}

// checkExpansion measures the document with every alias expanded, in time
// linear in the unexpanded tree (each node's cost is computed once), and
// refuses it when it exceeds MaxSpecNodes or MaxSpecExpandedBytes. It runs
// before anything expands the aliases.
func checkExpansion(path string, doc *yaml.Node) error {
	type cost struct{ nodes, bytes int64 }
	memo := map[*yaml.Node]cost{}
	const over = MaxSpecNodes + MaxSpecExpandedBytes // saturate: no overflow
	var worst *yaml.Node
	var worstCost int64
	var measure func(n *yaml.Node, depth int) cost
	measure = func(n *yaml.Node, depth int) cost {
		if n == nil {
			return cost{}
		}
		if c, ok := memo[n]; ok {
			return c
		}
		if depth > 10_000 {
			return cost{over, over}
		}
		memo[n] = cost{over, over} // a node that contains itself costs "too much"
		c := cost{nodes: 1, bytes: int64(len(n.Value))}
		if n.Kind == yaml.AliasNode {
			a := measure(n.Alias, depth+1)
			c = cost{c.nodes + a.nodes, c.bytes + a.bytes}
			if a.nodes+a.bytes > worstCost {
				worst, worstCost = n, a.nodes+a.bytes
			}
		}
		for _, ch := range n.Content {
			s := measure(ch, depth+1)
			c.nodes = min(c.nodes+s.nodes, over)
			c.bytes = min(c.bytes+s.bytes, over)
		}
		memo[n] = c
		return c
	}
	total := measure(doc, 0)
	if total.nodes <= MaxSpecNodes && total.bytes <= MaxSpecExpandedBytes {
		return nil
	}
	at := doc
	if worst != nil {
		at = worst
	}
	return &Error{File: path, Line: max(at.Line, 1), Col: max(at.Column, 1),
		Msg:  fmt.Sprintf("YAML aliases expand this file beyond the limit of %d nodes and %d bytes", MaxSpecNodes, MaxSpecExpandedBytes),
		Hint: "write the values out, or use fewer and smaller aliases (*name)"}
}

// errTemplateTooLarge stops a template whose output exceeds its budget.
var errTemplateTooLarge = errors.New("template output exceeds the limit")

// limitedWriter fails once more than n bytes were written.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, fmt.Errorf("%w of %d bytes", errTemplateTooLarge, MaxTemplateOutput)
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// parseTemplate parses a spec template and accepts only text, comments and
// references to fields ({{.Version}}, {{ .Commit }}): no range, if, with,
// define, template, variables or function calls. Executing such a template
// takes one step per action, so no spec can make validate or a build loop
// (a nested {{range}} hung validate), and its output is bounded by the
// template's length times the longest field.
func parseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		if tt.Name() != name {
			return nil, fmt.Errorf("{{define}} is not allowed; use only fields such as {{.Version}}")
		}
		for _, n := range tt.Tree.Root.Nodes {
			if err := allowedNode(n); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

func allowedNode(n parse.Node) error {
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode:
		return nil
	case *parse.ActionNode:
		p := n.Pipe
		if len(p.Decl) == 0 && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
			if f, ok := p.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 1 {
				return nil
			}
		}
		return fmt.Errorf("%q is not allowed: only fields such as {{.Version}} are", n.String())
	default:
		word := strings.Fields(strings.Trim(n.String(), "{} -"))
		what := n.String()
		if len(word) > 0 {
			what = "{{" + word[0] + "}}"
		}
		return fmt.Errorf("%s is not allowed: only fields such as {{.Version}} are", what)
	}
}

// executeTemplate renders t with d, refusing output over MaxTemplateOutput.
func executeTemplate(t *template.Template, d TemplateData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&limitedWriter{w: &b, n: MaxTemplateOutput}, d); err != nil {
		return "", err
	}
	return b.String(), nil
}
