package runlock

import (
	"errors"
	"testing"
)

func TestOutRefusesASecondWriter(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Out(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Out(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	again, err := Out(dir)
	if err != nil {
		t.Errorf("lock after unlock: %v", err)
	}
	again()
}
