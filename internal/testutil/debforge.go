package testutil

import (
	"fmt"
	"os/exec"
)

// DebforgeBuildFlags are how every debforge binary is built: by make
// build, the test suites and the benchmarks alike. debforge's own bytes
// are part of every package's cache key, so a binary built from the same
// source must be the same file wherever the checkout lives and whichever
// commit it is: no paths (-trimpath), no version control stamp
// (-buildvcs=false). Then a warm make build warms the tests, and a clone
// in another directory reuses the packages of this one.
var DebforgeBuildFlags = []string{"-trimpath", "-buildvcs=false"}

// BuildDebforge builds ./cmd/debforge of the module at moduleDir into dst.
func BuildDebforge(moduleDir, dst string) error {
	args := append(append([]string{"build"}, DebforgeBuildFlags...), "-o", dst, "./cmd/debforge")
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	return nil
}
