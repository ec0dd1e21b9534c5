package spec

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"

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
	s += clipQuoted(e.Msg)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// MaxQuoted is how many characters of a quoted value an error shows: a
// spec that is not what it seems (a key file, a secret linked in) is named,
// never printed.
const MaxQuoted = 60

var quotedRe = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// clipQuoted shortens every Go-quoted string in msg longer than MaxQuoted
// characters to its first MaxQuoted, marked as cut.
func clipQuoted(msg string) string {
	return quotedRe.ReplaceAllStringFunc(msg, func(q string) string {
		r := []rune(q)
		if len(r) <= MaxQuoted+2 {
			return q
		}
		return string(r[:MaxQuoted+1]) + `"… (` + strconv.Itoa(len(q)) + " characters, cut)"
	})
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
