package testutil

import (
	"os"
	"os/exec"
	"testing"
)

func TestLastLines(t *testing.T) {
	if got := LastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("LastLines = %q", got)
	}
	if got := LastLines("a", 5); got != "a" {
		t.Errorf("LastLines = %q", got)
	}
}

// A process is alive while it runs and not once it is a zombie.
func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	for Alive(pid) { // exits at once, a zombie until waited for
	}
	cmd.Wait()
	if Alive(pid) {
		t.Error("a reaped process is alive")
	}
}
