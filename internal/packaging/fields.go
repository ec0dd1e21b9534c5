package packaging

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/debforge/debforge/internal/debian"

	"github.com/debforge/debforge/internal/spec"
)

// checkFields refuses, again, what validation already refused: a control
// character in a field that becomes one line of the control file, and a
// setuid, setgid or world-writable mode nobody gave a reason for. Specs
// are validated before they get here; this guards every other way a
// Component is made (the keyring package, future callers), so one missed
// check upstream cannot add "Essential: yes" to a package.
func checkFields(c *spec.Component) error {
	pk := c.Package
	single := map[string]string{
		"Package": pk.Name, "Version": c.Version, "Revision": c.Revision, "Maintainer": c.Maintainer,
		"Homepage": c.Homepage, "Description (summary)": c.Summary, "Section": pk.Section,
		"Priority": pk.Priority, "License": c.License, "Copyright": c.Copyright,
	}
	for name, v := range single {
		if r := debian.BadChar(v, false); r >= 0 {
			return fmt.Errorf("%s: %s %q contains the control character %U; refusing to write a control file", c.File, name, v, r)
		}
	}
	if r := debian.BadChar(c.Description, true); r >= 0 {
		return fmt.Errorf("%s: Description contains the control character %U; refusing to write a control file", c.File, r)
	}
	for _, rel := range [][]string{pk.Depends, pk.PreDepends, pk.Recommends, pk.Suggests, pk.Conflicts, pk.Breaks, pk.Replaces, pk.Provides} {
		for _, v := range rel {
			if r := debian.BadChar(v, false); r >= 0 {
				return fmt.Errorf("%s: relation %q contains the control character %U; refusing to write a control file", c.File, v, r)
			}
		}
	}
	for _, ct := range pk.Contents {
		if ct.Mode == "" {
			continue
		}
		m, err := strconv.ParseUint(ct.Mode, 8, 32)
		if err != nil {
			return fmt.Errorf("%s: %s: malformed mode %q", c.File, ct.Dst, ct.Mode)
		}
		if spec.UnsafeMode(m) && strings.TrimSpace(ct.AllowUnsafeMode) == "" {
			return fmt.Errorf("%s: %s: mode %s is setuid, setgid or world-writable and the entry gives no allow_unsafe_mode reason", c.File, ct.Dst, ct.Mode)
		}
	}
	return nil
}

// checkInput refuses, like checkFields, what reaches the writer from
// outside the spec: dependencies from dpkg-shlibdeps (added to Depends)
// and the architecture, which becomes part of the .deb's file name and
// the control file (forge checks --arch; this guards every caller).
func checkInput(in Input) error {
	if !debian.ArchRe.MatchString(in.Arch) {
		return fmt.Errorf("%s: architecture %q is not a Debian architecture name; refusing to write a package", in.Component.File, in.Arch)
	}
	for _, v := range in.ExtraDepends {
		if r := debian.BadChar(v, false); r >= 0 {
			return fmt.Errorf("%s: relation %q (from the shared-library dependencies) contains the control character %U; refusing to write a control file", in.Component.File, v, r)
		}
	}
	return nil
}
