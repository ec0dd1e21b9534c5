//go:build integration

package e2e

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

// docExamples are the specs docs/own-software.md prints, by name: each
// ```yaml block that starts with name:.
func docExamples(t *testing.T) map[string]string {
	t.Helper()
	page := string(mustRead(t, "../../docs/own-software.md"))
	out := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```yaml\n(name: ([a-z0-9.+-]+)\n.*?)```").FindAllStringSubmatch(page, -1) {
		out[m[2]] = m[1]
	}
	return out
}

// The page an admin packages their own software from builds as printed:
// its Go program (age, from the Go module proxy) and its shell service
// (the files its steps install written here, as the admin has them) are
// lintian-clean with no override the page does not show. The autotools
// example's source is Debian's jq orig tarball, which the tests do not
// fetch.
func TestOwnSoftwareExamplesBuildAsPrinted(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb", "lintian")
	examples := docExamples(t)
	specs := tempDir(t)
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	for _, name := range []string{"age", "backup-agent"} {
		text, ok := examples[name]
		if !ok {
			t.Fatalf("docs/own-software.md prints no %s spec; it has %v", name, slices.Sorted(maps.Keys(examples)))
		}
		testutil.Must(t, os.WriteFile(filepath.Join(specs, name+".yaml"), []byte(text), 0o644))
	}
	src := filepath.Join(specs, "src", "backup-agent")
	testutil.Must(t, os.MkdirAll(src, 0o755))
	for file, body := range map[string]string{
		"backup-agent.sh":      "#!/bin/sh\n# Copies /srv to the backup host.\nset -eu\n. /etc/backup-agent.conf\nexec rsync -a /srv/ \"$TARGET\"\n",
		"backup-agent.service": "[Unit]\nDescription=nightly backup agent\nDocumentation=man:backup-agent(8)\n\n[Service]\nUser=_backup-agent\nExecStart=/usr/bin/backup-agent\n\n[Install]\nWantedBy=multi-user.target\n",
		"backup-agent.conf":    "# Where backup-agent copies /srv to.\nTARGET=backup.example.org:/backups/\n",
		"backup-agent.8":       ".TH BACKUP-AGENT 8\n.SH NAME\nbackup-agent \\- copy /srv to the backup host\n.SH SYNOPSIS\n.B backup-agent\n.SH DESCRIPTION\nCopies /srv to the host /etc/backup-agent.conf names.\n",
	} {
		testutil.Must(t, os.WriteFile(filepath.Join(src, file), []byte(body), 0o644))
	}
	e := newEnv(t, specs)
	r := e.run(t, "build", "all")
	if r.code != 0 {
		t.Fatalf("the page's examples do not build as printed: exit %d\n%s", r.code, r.stderr)
	}
	debs := debsOf(t, r)
	for _, pkg := range []string{"acme-age", "acme-backup-agent"} {
		if debs[pkg] == "" {
			t.Errorf("no %s package:\n%s", pkg, r.stdout)
			continue
		}
		for _, line := range lintianErrors(t, debs[pkg]) {
			t.Errorf("lintian %s: %s", pkg, line)
		}
	}
}
