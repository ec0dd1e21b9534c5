package spec

import (
	"cmp"
	"maps"
	"strings"
)

// Defaults returns a copy of a validated component with every default
// filled in; c itself is not modified, so defaults never hide user errors.
func Defaults(c *Component, repo *Repo) *Component {
	out := *c
	out.Revision = cmp.Or(c.Revision, "1")
	out.Maintainer = cmp.Or(c.Maintainer, repo.Maintainer)
	out.Copyright = cmp.Or(c.Copyright, "The "+c.Name+" authors")
	out.Changes = cmp.Or(c.Changes, "Build "+c.Version+" from upstream source with debforge.")
	var pk Package
	if c.Package != nil {
		pk = *c.Package
	}
	pk.Name = cmp.Or(pk.Name, c.Name)
	pk.Section = cmp.Or(pk.Section, "admin")
	pk.Priority = cmp.Or(pk.Priority, "optional")
	pk.Architecture = cmp.Or(pk.Architecture, "any")
	if c.IsMeta() {
		pk.Architecture = "all"
	}
	pk.Compression = cmp.Or(pk.Compression, "gzip")
	// Relations may name the component's own version ({{.Version}},
	// {{.DebVersion}}); validation rendered them already, so they expand.
	d := out.Template()
	for _, list := range []*[]string{&pk.Depends, &pk.PreDepends, &pk.Recommends, &pk.Suggests, &pk.Conflicts, &pk.Breaks, &pk.Replaces, &pk.Provides} {
		*list = expandAll(*list, d)
	}
	out.Package = &pk
	if c.Source != nil {
		s := *c.Source
		if s.StripComponents == nil {
			one := 1
			s.StripComponents = &one
		}
		out.Source = &s
	}
	if c.Build != nil {
		b := *c.Build
		b.Env = maps.Clone(c.Build.Env)
		if b.Kind == "make" {
			if len(b.Targets) == 0 {
				b.Targets = []string{"all"}
			}
		}
		if b.Kind == "make" || b.Kind == "autotools" {
			b.InstallTarget = cmp.Or(b.InstallTarget, "install")
		}
		out.Build = &b
	}
	return &out
}

// Template returns the data "{{...}}" placeholders expand to.
func (c *Component) Template() TemplateData {
	d := TemplateData{Name: c.Name, Version: c.Version, Revision: c.Revision, DebVersion: c.DebVersion()}
	if c.Source != nil {
		d.CommitID = c.Source.Commit
		d.Module, _, _ = strings.Cut(c.Source.GoModule, "@")
	}
	return d
}

// expandAll returns a copy of list with templates expanded; an entry that
// does not expand (validation reports it) is kept as written.
func expandAll(list []string, d TemplateData) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		if v, err := Expand(s, d); err == nil {
			out[i] = v
		} else {
			out[i] = s
		}
	}
	return out
}
