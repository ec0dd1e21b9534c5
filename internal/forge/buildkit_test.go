package forge

import (
	"strings"
	"testing"
)

// A worker without the target's platform is refused by name, with what
// it does run; a variant-less platform matches the worker's own variant.
func TestWorkerPlatforms(t *testing.T) {
	w := &worker{addr: "tcp://builder-1:1234", platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/arm/v7"}}
	for _, arch := range []string{"amd64", "armhf"} {
		if err := w.runs(arch); err != nil {
			t.Errorf("runs(%s): %v", arch, err)
		}
	}
	for _, arch := range []string{"arm64", "armel", "vax"} {
		err := w.runs(arch)
		if err == nil || !strings.Contains(err.Error(), "buildkit worker tcp://builder-1:1234: no platform") {
			t.Errorf("runs(%s) = %v, want an error naming the worker and the platform", arch, err)
		}
	}
	if err := w.runs("arm64"); !strings.Contains(err.Error(), "it runs linux/amd64, linux/amd64/v2, linux/arm/v7") {
		t.Errorf("the error does not say what the worker runs: %v", err)
	}
}
