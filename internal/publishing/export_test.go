package publishing

import (
	"testing"

	"github.com/debforge/debforge/internal/packaging/aptrepo"
)

// WrapPublishRepo replaces the publish step for the rest of the test:
// wrap gets the real one.
func WrapPublishRepo(t *testing.T, wrap func(real func(aptrepo.Config) error) func(aptrepo.Config) error) {
	saved := publishRepo
	publishRepo = wrap(saved)
	t.Cleanup(func() { publishRepo = saved })
}
