package publishing

import (
	"errors"
	"fmt"
	"testing"

	"github.com/debforge/debforge/internal/hint"
	"github.com/debforge/debforge/internal/packaging/aptrepo"
	"github.com/debforge/debforge/internal/spec"
)

// A same-version rebuild the pool refuses names the next revision, with
// the release suffix a target adds kept after it.
func TestChangedHintNamesTheNextRevision(t *testing.T) {
	refused := fmt.Errorf("pool: %w", &aptrepo.ChangedError{File: "runc_1.5.3-3+deb12_amd64.deb"})
	for _, tc := range []struct{ rev, hint string }{
		{"3+deb12", `set revision: "4" in specs/runc.yaml (now "3") and build again; the rebuilt package then publishes as 1.5.3-4+deb12 beside 1.5.3-3+deb12`},
		{"1", `set revision: "2" in specs/runc.yaml (now "1") and build again; the rebuilt package then publishes as 1.5.3-2 beside 1.5.3-1`},
		{"0ubuntu1", `raise revision: in specs/runc.yaml (now "0ubuntu1") and build again; the new version publishes beside the old one`},
	} {
		c := &spec.Component{Name: "runc", Version: "1.5.3", Revision: tc.rev, File: "specs/runc.yaml"}
		err := ChangedHint(c, refused)
		var ce *aptrepo.ChangedError
		if !errors.As(err, &ce) || hint.Of(err) != tc.hint {
			t.Errorf("revision %s: %v\nhint %q\nwant %q", tc.rev, err, hint.Of(err), tc.hint)
		}
	}
	other := errors.New("disk full")
	if err := ChangedHint(&spec.Component{Revision: "1"}, other); err != other {
		t.Errorf("another error was changed: %v", err)
	}
}
