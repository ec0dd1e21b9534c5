package spec

import (
	"errors"
	"fmt"
	"sort"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a spec file, positioned for an editor.
type Error struct {
	File      string
	Line, Col int
	// Path is the dotted field path, e.g. "build.binaries[0].dst".
	Path string
	Msg  string
	// Hint says what to do; may be empty.
	Hint string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s:%d:%d: ", e.File, e.Line, e.Col)
	if e.Path != "" {
		s += e.Path + ": "
	}
	s += e.Msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// problems collects positioned errors for one file.
type problems struct {
	file string
	list []*Error
}

// add records a problem at node n (nil means the top of the file).
func (p *problems) add(n *yaml.Node, path, hint, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.list = append(p.list, &Error{File: p.file, Line: line, Col: col, Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// err returns all problems joined, in file order, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool {
		a, b := p.list[i], p.list[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}
