// Package buildkey says what a package's and a compile's cache keys
// cover: everything that can change their bytes (debforge, the
// toolchain, the target, the root's exact package set, the repository
// settings that reach a package, the spec, the source with its patches,
// the keys of what it comes after, the changelog history), and keeps
// the inputs of the last key so that build --explain can name the one
// that changed.
package buildkey

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/debforge/debforge/internal/debian"
	"github.com/debforge/debforge/internal/source"
	"github.com/debforge/debforge/internal/spec"
)

// Env is what every cache key shares: debforge itself, the Go
// toolchain, the target, the repository settings and the reproducibility
// epoch. Nothing of the host's own tools is in it: builds never use them.
type Env struct {
	Self, Toolchain, Target, Repo, Epoch string
}

// Input is one named input of a package's cache key: Text is exactly
// what the key hashes for it. build --explain compares them by name.
type Input struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Package is the key of c's package: a hash of everything that can
// change its bytes, the exact package set of the build root it is built
// in (rootKey) included; with the inputs it hashed, in order.
func Package(c *spec.Component, fe *source.Fetched, env Env, rootKey string, depKeys []string, history []byte) (string, []Input, error) {
	in, err := inputsOf(c, fe, env, rootKey, depKeys, history)
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	for _, i := range in {
		io.WriteString(h, i.Text)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], in, nil
}

// inputsOf are the inputs of c's cache key, in the order it hashes them.
func inputsOf(c *spec.Component, fe *source.Fetched, env Env, rootKey string, depKeys []string, history []byte) ([]Input, error) {
	in := []Input{
		{"debforge", "debforge " + env.Self + "\n"}, {"toolchain", "toolchain " + env.Toolchain + "\n"},
		{"target", "target " + env.Target + "\n"}, {"root", "root " + rootKey + "\n"},
		{"repo", "repo " + env.Repo + "\n"}, {"epoch", "epoch " + env.Epoch + "\n"},
	}
	data, err := specWithoutTests(c.File)
	if err != nil {
		return nil, err
	}
	in = append(in, Input{"spec", fmt.Sprintf("spec %x\n", sha256.Sum256(data))})
	if v := c.DebVersion(); debian.ReleaseSuffixRe.MatchString(v) {
		// Built for a release (targets): its suffix is in the package.
		in = append(in, Input{"version", "version " + v + "\n"})
	}
	if fe != nil {
		var b strings.Builder
		if err := HashSource(&b, c, fe); err != nil {
			return nil, err
		}
		in = append(in, Input{"source", b.String()})
	}
	after := ""
	for _, d := range depKeys {
		after += "after " + d + "\n"
	}
	in = append(in, Input{"after", after}, Input{"history", fmt.Sprintf("history %x\n", sha256.Sum256(history))})
	return in, nil
}

// HashSource writes the identity of the tree a build starts from: the
// verified upstream source, the files the spec deletes from it and the
// content of each patch it applies.
func HashSource(w io.Writer, c *spec.Component, fe *source.Fetched) error {
	fmt.Fprintf(w, "source %s %s %s\ndelete %q\n", fe.Kind, fe.ID, fe.Commit, c.Source.Delete)
	for _, p := range c.Source.Patches {
		data, err := os.ReadFile(filepath.Join(c.Dir, p))
		if err != nil {
			return fmt.Errorf("read patch %s: %w", p, err)
		}
		fmt.Fprintf(w, "patch %s %x\n", p, sha256.Sum256(data))
	}
	return nil
}

// specWithoutTests is the spec file's text, without its tests: when it
// has any. Tests check the package and never change it, so editing them
// runs them again (their own key, package pkgtest) and builds nothing.
// A spec without tests keys on its bytes as they are.
func specWithoutTests(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data, nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "tests" {
			m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
			return yaml.Marshal(&doc)
		}
	}
	return data, nil
}
