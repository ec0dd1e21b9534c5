package postinst

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debforge/debforge/internal/testutil"
)

func TestRenderCombinesSnippetsPerHook(t *testing.T) {
	scripts, err := Render("pkg", []Snippet{
		{Template: "systemd-reload"},
		{Template: "notice", Vars: map[string]string{"message": "it's done"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 2 || scripts["postinst"] == "" || scripts["postrm"] == "" {
		t.Fatalf("hooks = %v", keys(scripts))
	}
	post := scripts["postinst"]
	for _, want := range []string{"#!/bin/sh\n", "set -e\n", "[ -d /run/systemd/system ]", `echo 'it'\''s done' >&2`, "\nexit 0\n"} {
		if !strings.Contains(post, want) {
			t.Errorf("postinst lacks %q:\n%s", want, post)
		}
	}
	if strings.Index(post, "daemon-reload") > strings.Index(post, "echo") {
		t.Error("snippets not in spec order")
	}
}

func TestRenderErrors(t *testing.T) {
	if _, err := Render("pkg", []Snippet{{Template: "nope"}}); err == nil || !strings.Contains(err.Error(), "known: notice, systemd-reload") {
		t.Errorf("unknown template: %v", err)
	}
	if _, err := Render("pkg", []Snippet{{Template: "notice"}}); err == nil {
		t.Error("missing var accepted")
	}
}

// Every template, rendered, passes shellcheck and runs in a chroot-like
// setting (no systemd) without failing.
func TestScriptsShellcheckAndRun(t *testing.T) {
	testutil.RequireTool(t, "shellcheck")
	var all []Snippet
	for _, n := range Names() {
		all = append(all, Snippet{Template: n, Vars: map[string]string{"message": "hello"}})
	}
	dir := t.TempDir()
	paths, err := Write(dir, "pkg", all)
	if err != nil {
		t.Fatal(err)
	}
	for hook, p := range paths {
		if out, err := exec.Command("shellcheck", "-s", "sh", p).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", hook, err, out)
		}
		if _, err := os.Stat("/run/systemd/system"); err == nil {
			continue // would reload the real systemd
		}
		for _, arg := range []string{"configure", "remove", "purge"} {
			if out, err := exec.Command("sh", p, arg).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", filepath.Base(p), arg, err, out)
			}
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
