package testutil

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// make build builds debforge with the flags the tests use, so both make
// the same binary and so the same package cache keys.
func TestMakeBuildUsesTheTestsBuildFlags(t *testing.T) {
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\t\$\(GO\) build (.*) -o \$\(BIN\) ./cmd/debforge$`).FindStringSubmatch(string(data))
	if line == nil {
		t.Fatal("the Makefile has no '$(GO) build ... -o $(BIN) ./cmd/debforge' line")
	}
	if got, want := strings.Fields(line[1]), DebforgeBuildFlags; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("make build uses %v, the tests %v", got, want)
	}
}
