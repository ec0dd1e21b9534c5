package aptrepo

import (
	"fmt"

	"github.com/debforge/debforge/internal/debian"
)

// check refuses settings that would let one value write another field of
// Release or the .sources file (a control character), or a file outside
// the repository (a codename, component, architecture or key name that is
// not a plain Debian name). The settings are validated when loaded; this
// is the writer's own guard, run before anything is written.
func (cfg *Config) check() error {
	for _, f := range []struct{ name, val string }{
		{"origin", cfg.Origin}, {"label", cfg.Label}, {"suite", cfg.Suite}, {"codename", cfg.Codename},
		{"component", cfg.Component}, {"description", cfg.Description}, {"key_name", cfg.KeyName}, {"url", cfg.URL},
	} {
		if r := debian.BadChar(f.val, false); r >= 0 {
			return fmt.Errorf("publish: %s %q contains the control character %U", f.name, f.val, r)
		}
	}
	for _, f := range []struct{ name, val string }{{"suite", cfg.Suite}, {"codename", cfg.Codename}, {"component", cfg.Component}} {
		if !debian.SuiteRe.MatchString(f.val) {
			return fmt.Errorf("publish: invalid %s %q: a letter or digit, then letters, digits, '.', '+', '-' and '_'", f.name, f.val)
		}
	}
	for _, rt := range cfg.Releases {
		for _, f := range []struct{ name, val string }{{"suite", rt.Suite}, {"codename", rt.Codename}} {
			if !debian.SuiteRe.MatchString(f.val) {
				return fmt.Errorf("publish: invalid release %s %q: a letter or digit, then letters, digits, '.', '+', '-' and '_'", f.name, f.val)
			}
		}
		if rt.Suffix != "" && !debian.ReleaseSuffixRe.MatchString(rt.Suffix) {
			return fmt.Errorf("publish: release %s: invalid version suffix %q", rt.Codename, rt.Suffix)
		}
		for _, a := range rt.Archs {
			if !debian.ArchRe.MatchString(a) {
				return fmt.Errorf("publish: invalid architecture %q: a Debian architecture name such as amd64 or arm64", a)
			}
		}
	}
	if !debian.PackageNameRe.MatchString(cfg.KeyName) {
		return fmt.Errorf("publish: invalid key_name %q: a Debian package name", cfg.KeyName)
	}
	for _, a := range cfg.Archs {
		if !debian.ArchRe.MatchString(a) {
			return fmt.Errorf("publish: invalid architecture %q: a Debian architecture name such as amd64 or arm64", a)
		}
	}
	return nil
}
