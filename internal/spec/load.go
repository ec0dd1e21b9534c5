package spec

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/debian"

	"gopkg.in/yaml.v3"
)

// RepoFile is the name of the repository-wide settings file in a specs dir.
const RepoFile = "debforge.yaml"

// Set is every spec of a specs directory plus the repository settings.
type Set struct {
	Repo       *Repo
	Components []*Component // sorted by name
}

// Names are the components' names, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.Components))
	for _, c := range s.Components {
		names = append(names, c.Name)
	}
	return names
}

// Get returns the component with the given name, or nil.
func (s *Set) Get(name string) *Component {
	for _, c := range s.Components {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// LoadDir loads, validates and applies defaults to every *.yaml spec in dir.
// kinds lists the known builder kinds. All problems of all files are
// returned at once.
func LoadDir(dir string, kinds []string, opts ...Option) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read specs: %w", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	set := &Set{}
	var errs []error
	// fail records a problem of one component file: in errs, or beside
	// the set when the caller asked for the valid specs only.
	fail := func(file string, err error) {
		if o.skipped != nil {
			o.skipped[file] = errors.Join(o.skipped[file], err)
			return
		}
		errs = append(errs, err)
	}
	repoPath := filepath.Join(dir, RepoFile)
	repo, err := LoadRepo(repoPath)
	if err != nil {
		errs = append(errs, err)
	}
	set.Repo = repo
	seen := map[string]string{}
	pkgSeen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") || e.Name() == RepoFile {
			continue
		}
		path := filepath.Join(dir, e.Name())
		c, err := LoadFile(path, kinds, opts...)
		if err != nil {
			fail(path, err)
			continue
		}
		if prev, ok := seen[c.Name]; ok {
			fail(path, &Error{File: path, Line: 1, Col: 1, Path: "name", Msg: fmt.Sprintf("component %q is also defined in %s", c.Name, prev), Hint: "names must be unique"})
			continue
		}
		if prev, ok := pkgSeen[c.PackageName()]; ok {
			fail(path, &Error{File: path, Line: 1, Col: 1, Path: "package.name", Msg: fmt.Sprintf("package %q is also built by %s", c.PackageName(), prev), Hint: "package names must be unique"})
			continue
		}
		seen[c.Name], pkgSeen[c.PackageName()] = path, path
		set.Components = append(set.Components, c)
	}
	checkAcrossFiles(set.Components, seen, repo, dir, fail)
	if o.skipped != nil {
		set.Components = slices.DeleteFunc(set.Components, func(c *Component) bool { return o.skipped[c.File] != nil })
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if repo != nil {
		for i, c := range set.Components {
			set.Components[i] = Defaults(c, repo)
		}
	}
	sort.Slice(set.Components, func(i, j int) bool { return set.Components[i].Name < set.Components[j].Name })
	return set, nil
}

// checkAcrossFiles reports, through fail, what no single file shows: an
// after: entry naming no component (seen maps names to files), and a
// package named as the repository's keyring package.
func checkAcrossFiles(comps []*Component, seen map[string]string, repo *Repo, dir string, fail func(file string, err error)) {
	for _, c := range comps {
		for i, a := range c.After {
			if _, ok := seen[a]; !ok {
				line, col := position(c.File, "after", strconv.Itoa(i))
				fail(c.File, &Error{File: c.File, Line: line, Col: col, Path: fmt.Sprintf("after[%d]", i), Msg: fmt.Sprintf("unknown component %q", a), Hint: "name another spec in " + dir})
			}
		}
		if repo == nil || c.PackageName() != repo.KeyName {
			continue
		}
		n, field := At(c.root, "package", "name"), "package.name"
		if c.Package == nil || c.Package.Name == "" {
			n, field = At(c.root, "name"), "name"
		}
		fail(c.File, &Error{File: c.File, Line: n.Line, Col: n.Column, Path: field,
			Msg:  fmt.Sprintf("package %q is the repository's keyring package (key_name in %s)", c.PackageName(), RepoFile),
			Hint: "choose another package name, or another key_name"})
	}
}

var goVersionRe = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+)?$`)

// minGoMinor is the oldest Go release go_toolchain may pin: 1.22 gave
// the go linker -bindnow, which every Go binary is linked with.
const minGoMinor = 22

// minor is the minor release of v, a version goVersionRe accepts.
func minor(v string) int {
	n, _ := strconv.Atoi(strings.Split(v, ".")[1])
	return n
}

// LoadRepo reads the repository settings file and applies its defaults.
func LoadRepo(path string) (*Repo, error) {
	data, err := readSpecFile(path)
	if err != nil {
		return nil, fmt.Errorf("read repository settings: %w (every specs dir needs a %s with at least a maintainer)", err, RepoFile)
	}
	var r Repo
	root, err := decodeStrict(path, data, &r)
	if err != nil {
		return nil, err
	}
	p := &problems{file: path}
	if r.Maintainer == "" {
		p.add(root, "maintainer", `e.g. maintainer: "Ops Team <ops@example.org>"`, "required field missing")
	} else if !maintainerRe.MatchString(r.Maintainer) {
		p.add(At(root, "maintainer"), "maintainer", `use "Full Name <email>"`, "malformed maintainer %q", r.Maintainer)
	}
	if r.Keep < 0 {
		p.add(At(root, "keep"), "keep", "use 1 or more", "must not be negative")
	}
	for _, f := range []struct{ key, val string }{{"suite", r.Suite}, {"codename", r.Codename}, {"component", r.Component}} {
		if f.val != "" && !debian.SuiteRe.MatchString(f.val) {
			p.add(At(root, f.key), f.key, "a letter or digit, then letters, digits, '.', '+', '-' and '_' (it becomes a directory name)", "invalid %s %q", f.key, f.val)
		}
	}
	if r.KeyName != "" && !debian.PackageNameRe.MatchString(r.KeyName) {
		p.add(At(root, "key_name"), "key_name", "a Debian package name: lower case letters, digits, '+', '-' and '.' (it names the keyring package and files in the repository)", "invalid key_name %q", r.KeyName)
	}
	if r.URL != "" && !urlRe.MatchString(r.URL) {
		p.add(At(root, "url"), "url", "e.g. https://apt.example.org/debforge or file:///srv/repo", "expected an http(s) or file URL without spaces, found %q", r.URL)
	}
	r.TargetList = checkTargets(p, root, &r)
	if r.Staging && len(r.Targets) == 0 {
		p.add(At(root, "staging"), "staging", "name the releases to publish, e.g. targets: [bookworm/amd64]", "staging needs targets: each target's release gets a staging suite beside it")
	}
	if tc := r.GoToolchain; tc != nil {
		n := At(root, "go_toolchain")
		if !goVersionRe.MatchString(tc.Version) {
			p.add(n, "go_toolchain.version", "e.g. version: 1.26.8", "want a Go release such as 1.26.8, got %q", tc.Version)
		} else if minor(tc.Version) < minGoMinor {
			p.add(n, "go_toolchain.version", "e.g. version: 1.26.8", "want Go 1.%d or later (its linker's -bindnow hardens every Go binary), got %q", minGoMinor, tc.Version)
		}
		if len(tc.Sums) == 0 {
			p.add(n, "go_toolchain.sums", "get it with: go mod download -json golang.org/toolchain@v0.0.1-go"+tc.Version+".linux-amd64 (Sum)", "required field missing")
		}
		for arch, sum := range tc.Sums {
			if !strings.HasPrefix(sum, "h1:") {
				p.add(At(n, "sums", arch), "go_toolchain.sums."+arch, "the module's go.sum hash, h1:...", "malformed hash %q", sum)
			}
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	r.File = path
	out := r
	out.Origin = cmp.Or(r.Origin, "debforge")
	out.Label = cmp.Or(r.Label, out.Origin)
	out.Suite = cmp.Or(r.Suite, "stable")
	out.Codename = cmp.Or(r.Codename, "debforge")
	out.Component = cmp.Or(r.Component, "main")
	out.Description = cmp.Or(r.Description, "Packages built from upstream source by debforge")
	out.KeyName = cmp.Or(r.KeyName, "debforge-archive-keyring")
	if out.Keep == 0 {
		out.Keep = 3
	}
	return &out, nil
}

// LoadFile loads and validates one spec file (without repository defaults).
func LoadFile(path string, kinds []string, opts ...Option) (*Component, error) {
	data, err := readSpecFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(path, data, kinds, opts...)
}

// Parse decodes and validates spec bytes; path is used in messages.
func Parse(path string, data []byte, kinds []string, opts ...Option) (*Component, error) {
	var c Component
	root, err := decodeStrict(path, data, &c)
	if err != nil {
		return nil, err
	}
	c.File = path
	c.Dir = filepath.Dir(path)
	c.root = root
	if err := Validate(&c, root, kinds, opts...); err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeStrict parses data into a node tree, checks every key and value
// shape against v's type (so errors carry line and column), and then
// decodes with KnownFields for the types yaml itself checks.
func decodeStrict(path string, data []byte, v any) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: path, Line: 1, Col: 1, Msg: "empty file", Hint: "a spec needs at least name, version, summary, description and license"}
	}
	if err := checkExpansion(path, &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	p := &problems{file: path}
	checkShape(p, root, reflect.TypeOf(v).Elem(), "")
	if err := p.err(); err != nil {
		return nil, err
	}
	checkText(p, root, reflect.TypeOf(v).Elem(), "", multiLineFor(v))
	if err := p.err(); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, yamlError(path, err)
	}
	return root, nil
}

// checkShape walks the node against the Go type, reporting unknown keys,
// duplicate keys and mappings/sequences/scalars in the wrong place.
func checkShape(p *problems, n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.add(n, path, "", "expected a mapping of keys, found %s", describe(n))
			return
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			sub := join(path, k.Value)
			if seen[k.Value] {
				p.add(k, sub, "remove one of them", "key %q appears twice", k.Value)
				continue
			}
			seen[k.Value] = true
			f, ok := fields[k.Value]
			if !ok {
				p.add(k, sub, "known keys: "+strings.Join(sortedKeys(fields), ", "), "unknown key %q", k.Value)
				continue
			}
			checkShape(p, val, f, sub)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.add(n, path, "write it as a list: [a, b] or one '- item' per line", "expected a list, found %s", describe(n))
			return
		}
		for i, item := range n.Content {
			checkShape(p, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.add(n, path, "", "expected a mapping of keys, found %s", describe(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkShape(p, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			p.add(n, path, "", "expected a text value, found %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			p.add(n, path, "write true or false", "expected true or false, found %s", describe(n))
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			p.add(n, path, "", "expected a whole number, found %s", describe(n))
		}
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = f.Type
	}
	return m
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlError turns yaml's "yaml: line N: msg" into a positioned Error.
func yamlError(path string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ":"); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, strings.TrimSpace(tail)
			}
		}
	}
	return &Error{File: path, Line: line, Col: 1, Msg: msg}
}

// At returns the node at the given key path below n, or the deepest existing
// mapping on the way (so a missing key points at its parent).
func At(n *yaml.Node, keys ...string) *yaml.Node {
	cur := n
	for _, k := range keys {
		next := child(cur, k)
		if next == nil {
			return cur
		}
		cur = next
	}
	return cur
}

// child returns the value node for key k in mapping n, or the element at
// index k ("0", "1", ...) of sequence n.
func child(n *yaml.Node, k string) *yaml.Node {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				return n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}

// position finds the line and column of a key path in a spec file that
// already parsed, for errors found across files (1:1 if it cannot).
func position(path string, keys ...string) (line, col int) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 1, 1
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 1, 1
	}
	if n := At(doc.Content[0], keys...); n != nil {
		return n.Line, n.Column
	}
	return 1, 1
}
