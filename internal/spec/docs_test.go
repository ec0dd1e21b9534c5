package spec

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// specReference is the page that documents every field of a spec and of
// debforge.yaml.
const specReference = "../../docs/spec-reference.md"

// docField is one YAML field: the key and the dotted path of the mapping
// it sits in ("" for a top-level field). Lists and maps of structs add no
// element of their own: package.contents[].src is "package.contents" + "src".
type docField struct{ parent, key string }

func (f docField) path() string {
	if f.parent == "" {
		return f.key
	}
	return f.parent + "." + f.key
}

// yamlFieldsOf walks t's yaml-tagged fields, recursing into structs,
// pointers to them and lists and maps of them.
func yamlFieldsOf(t reflect.Type, parent string) []docField {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []docField
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || key == "" || key == "-" {
			continue
		}
		f := docField{parent, key}
		out = append(out, f)
		out = append(out, yamlFieldsOf(sf.Type, f.path())...)
	}
	return out
}

var (
	codeSpanRe = regexp.MustCompile("`([^`\n]+)`")
	headingRe  = regexp.MustCompile(`^#{1,6} `)
	// placeholderRe drops the map-key element of a documented path:
	// `releases.<codename>.mirror` documents releases.mirror.
	placeholderRe = regexp.MustCompile(`\.<[^>]*>`)
)

// docSections splits a Markdown page at its headings and returns, for
// each heading's first code span (its scope, e.g. "source" for
// "### `source`"), the set of code spans in the text below it.
func docSections(page string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	var spans map[string]bool
	for _, line := range strings.Split(page, "\n") {
		if headingRe.MatchString(line) {
			spans = nil
			if m := codeSpanRe.FindStringSubmatch(line); m != nil {
				scope := placeholderRe.ReplaceAllString(m[1], "")
				if out[scope] == nil {
					out[scope] = map[string]bool{}
				}
				spans = out[scope]
			}
			continue
		}
		if spans != nil {
			for _, m := range codeSpanRe.FindAllStringSubmatch(line, -1) {
				spans[m[1]] = true
			}
		}
	}
	return out
}

// A field is documented when the page names it with its full path in
// backticks (`source.watch.url`), or with its key in backticks in the
// section whose heading names its parent (`url` under "### `source.watch`";
// top-level fields under the heading of their file).
func TestSpecReferenceDocumentsEveryField(t *testing.T) {
	data, err := os.ReadFile(specReference)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	everywhere := map[string]bool{}
	for _, m := range codeSpanRe.FindAllStringSubmatch(page, -1) {
		everywhere[placeholderRe.ReplaceAllString(m[1], "")] = true
	}
	sections := docSections(page)
	for _, root := range []struct {
		scope string // the code span in the heading of the file's section
		typ   reflect.Type
	}{
		{"specs/NAME.yaml", reflect.TypeOf(Component{})},
		{"debforge.yaml", reflect.TypeOf(Repo{})},
	} {
		if sections[root.scope] == nil {
			t.Errorf("%s: no heading names `%s`: its top-level fields are documented under it", specReference, root.scope)
		}
		for _, f := range yamlFieldsOf(root.typ, "") {
			scope := f.parent
			if scope == "" {
				scope = root.scope
			}
			if sections[scope][f.key] || (f.parent != "" && everywhere[f.path()]) {
				continue
			}
			t.Errorf("%s does not document %s field %s: write `%s` under a heading that names `%s`, or `%s` anywhere",
				specReference, root.scope, f.path(), f.key, scope, f.path())
		}
	}
}

// The walk finds nested fields, so a new one cannot hide below a list.
func TestYAMLFieldsOfReachesNestedFields(t *testing.T) {
	got := map[string]bool{}
	for _, f := range yamlFieldsOf(reflect.TypeOf(Component{}), "") {
		got[f.path()] = true
	}
	for _, want := range []string{"name", "source.watch.regexp", "build.binaries.static", "package.contents.replace.from", "package.lintian_overrides.reason", "limits.step_time"} {
		if !got[want] {
			t.Errorf("yamlFieldsOf(Component) lacks %s", want)
		}
	}
	if got["file"] || got["File"] {
		t.Error("yamlFieldsOf(Component) lists a field tagged yaml:\"-\"")
	}
	repo := map[string]bool{}
	for _, f := range yamlFieldsOf(reflect.TypeOf(Repo{}), "") {
		repo[f.path()] = true
	}
	for _, want := range []string{"releases.mirror", "go_toolchain.sums"} {
		if !repo[want] {
			t.Errorf("yamlFieldsOf(Repo) lacks %s", want)
		}
	}
}

// The README's spec is specs/rootlesskit.yaml shortened: every value it
// prints (but the elided module hash and the shortened description) is
// the real spec's, so the first spec a newcomer reads is one the
// acceptance tests build.
func TestReadmeSpecIsRootlesskitsShortened(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)`specs/rootlesskit.yaml`, shortened:\n\n```yaml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no shortened specs/rootlesskit.yaml")
	}
	real, err := os.ReadFile("../../specs/rootlesskit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var shown, whole map[string]any
	if err := yaml.Unmarshal(m[1], &shown); err != nil {
		t.Fatalf("README's spec: %v", err)
	}
	if err := yaml.Unmarshal(real, &whole); err != nil {
		t.Fatal(err)
	}
	delete(shown["source"].(map[string]any), "sum")
	delete(shown, "description")
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch a := a.(type) {
		case map[string]any:
			bm, _ := b.(map[string]any)
			for k, v := range a {
				walk(path+"."+k, v, bm[k])
			}
		case []any:
			bl, _ := b.([]any)
			for i, v := range a {
				if i >= len(bl) {
					t.Errorf("%s[%d]: the README shows %v; specs/rootlesskit.yaml has no such entry", path, i, v)
					continue
				}
				walk(path+"["+strconv.Itoa(i)+"]", v, bl[i])
			}
		default:
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: the README shows %v, specs/rootlesskit.yaml has %v", path, a, b)
			}
		}
	}
	walk("", shown, whole)
}
