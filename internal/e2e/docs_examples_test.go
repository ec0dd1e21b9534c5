//go:build integration

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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
// its Go program (age, from the Go module proxy), its autotools program
// (jq, from Debian's orig tarball, which apt fetches from the Debian
// mirror as the page's admin would, its sha256 filled in as the page
// says) and its shell service (the files its steps install written here,
// as the admin has them) are lintian-clean with no override the page
// does not show.
func TestOwnSoftwareExamplesBuildAsPrinted(t *testing.T) {
	testutil.RequireTool(t, "dpkg-deb", "lintian", "apt-get")
	examples := docExamples(t)
	specs := tempDir(t)
	sh(t, "cp", "testdata/specs/debforge.yaml", specs)
	for _, name := range []string{"age", "backup-agent", "jq"} {
		text, ok := examples[name]
		if !ok {
			t.Fatalf("docs/own-software.md prints no %s spec; it has %v", name, slices.Sorted(maps.Keys(examples)))
		}
		if name == "jq" {
			sum := origTarball(t, specs, "trixie", "jq", "jq_1.7.1.orig.tar.gz")
			if !strings.Contains(text, `sha256: "…"`) {
				t.Fatalf("the page's jq spec no longer leaves its sha256 for the admin to fill in:\n%s", text)
			}
			text = strings.Replace(text, `sha256: "…"`, `sha256: "`+sum+`"`, 1)
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
	for _, pkg := range []string{"acme-age", "acme-backup-agent", "acme-jq"} {
		if debs[pkg] == "" {
			t.Errorf("no %s package:\n%s", pkg, r.stdout)
			continue
		}
		for _, line := range lintianErrors(t, debs[pkg]) {
			t.Errorf("lintian %s: %s", pkg, line)
		}
	}
	if deb := debs["acme-jq"]; deb != "" {
		contents := sh(t, "dpkg-deb", "--contents", deb)
		if !strings.Contains(contents, "./usr/bin/jq\n") || strings.Contains(contents, "libjq") || strings.Contains(contents, "/usr/include/") {
			t.Errorf("acme-jq should ship jq linked with libjq and none of libjq's files:\n%s", contents)
		}
		if got := strings.TrimSpace(sh(t, "dpkg-deb", "--field", deb, "Provides")); got != "jq (= 1.7.1)" {
			t.Errorf("acme-jq Provides %q", got)
		}
	}
}

// origTarball fetches release's orig tarball of the source package src
// from the Debian mirror into dir with apt-get source (its own lists, so
// the machine's apt is untouched), checks it is the file name wants, and
// returns its sha256.
func origTarball(t *testing.T, dir, release, src, name string) string {
	t.Helper()
	mirror := testutil.DebianMirror()
	if mirror == "" {
		t.Fatal("no Debian mirror in /etc/apt/sources.list.d/debian.sources to fetch the orig tarball from")
	}
	state := t.TempDir()
	list := filepath.Join(state, "src.sources")
	testutil.Must(t, os.WriteFile(list, []byte("Types: deb-src\nURIs: "+mirror+"\nSuites: "+release+"\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"), 0o644))
	for _, d := range []string{"lists/partial", "archives/partial"} {
		testutil.Must(t, os.MkdirAll(filepath.Join(state, d), 0o755))
	}
	opts := []string{"-o", "Dir::Etc::SourceList=" + list, "-o", "Dir::Etc::SourceParts=/dev/null", "-o", "Dir::State=" + state, "-o", "Dir::Cache=" + state}
	for _, args := range [][]string{{"update"}, {"source", "--download-only", "--tar-only", src}} {
		cmd := exec.Command("apt-get", append(opts, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("apt-get source %s did not fetch %s: %v", src, name, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
