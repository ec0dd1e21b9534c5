package publishing

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/usage"
)

// CheckKeyOutsideOut refuses a signing key path inside the output
// directory: everything under out/repo is served to anyone, and a key
// there was served (issue 9 item 3). Both paths are resolved through
// symlinks, including a key path or out dir that does not exist yet, so a
// link into out/ is caught too.
func CheckKeyOutsideOut(key, out string) error {
	return checkKeyOutside("signing key", key, out)
}

// CheckKeysOutsideOut is CheckKeyOutsideOut for the signing key and every
// --previous-signing-key: a key being rotated out is as private as the
// current one.
func CheckKeysOutsideOut(key string, previous []string, out string) error {
	if key != "" {
		if err := CheckKeyOutsideOut(key, out); err != nil {
			return err
		}
	}
	for _, p := range previous {
		if err := checkKeyOutside("--previous-signing-key", p, out); err != nil {
			return err
		}
	}
	return nil
}

// checkKeyOutside is CheckKeyOutsideOut with what names the key in the
// message.
func checkKeyOutside(what, key, out string) error {
	k, err := resolve(key)
	if err != nil {
		return err
	}
	o, err := resolve(out)
	if err != nil {
		return err
	}
	if k == o || strings.HasPrefix(k, o+string(filepath.Separator)) {
		return usage.New(fmt.Errorf("%s %s is inside the output directory %s (resolved: %s), which 'debforge serve' publishes", what, key, out, k),
			"keep the private key outside --out, e.g. at the default ~/.local/share/debforge/signing-key.asc")
	}
	return nil
}

// resolve returns the absolute path p with every symlink of its longest
// existing prefix resolved.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !os.IsNotExist(err) {
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
