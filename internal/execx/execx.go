// Package execx is the one seam through which debforge runs external
// programs, so that builders can be tested by the commands they plan.
package execx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cmd is one command to run.
type Cmd struct {
	Args []string
	Dir  string
	// Env is added to the inherited environment (later entries win).
	Env []string
	// Trusted marks a command debforge wrote in which nothing a spec says
	// can start a program of the spec's choosing (the go command alone,
	// on flags debforge checked): a sandbox gives it its trusted binds.
	Trusted bool
}

// Argv renders the command line alone, shell-quoted: what a person reads
// in an error. String adds the environment, for the full log.
func (c Cmd) Argv() string {
	var b strings.Builder
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

// String renders the environment additions and the command line.
func (c Cmd) String() string {
	var b strings.Builder
	for _, e := range c.Env {
		b.WriteString(shellQuote(e) + " ")
	}
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Runner runs commands. Output is the combined stdout and stderr.
type Runner interface {
	Run(ctx context.Context, c Cmd, output io.Writer) error
}

// OS runs commands with os/exec.
type OS struct{}

// KillGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL, and how long Wait then waits for its output pipes.
const KillGrace = time.Second

// Run runs c, streaming its combined output to output. The command runs in
// its own process group: a build step is usually "sh -c ..." whose children
// (make, cc, sleep) would otherwise outlive a cancelled sh and keep the
// output pipe, and so the whole run, open. On cancellation the group gets
// SIGTERM, then SIGKILL after KillGrace; leftovers are killed either way.
func (OS) Run(ctx context.Context, c Cmd, output io.Writer) error {
	if len(c.Args) == 0 {
		return fmt.Errorf("empty command")
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout = output
	cmd.Stderr = output
	cmd.Stdin = nil
	ConfigureGroupKill(cmd)
	err := cmd.Run()
	// A step may leave background children (a daemon it started, a
	// "cmd &" it forgot): end them with it, so no build outlives its step.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return err
}

// ConfigureGroupKill makes cmd the leader of a new process group and
// replaces CommandContext's kill-the-leader cancellation with
// kill-the-group: SIGTERM at once, SIGKILL after KillGrace. WaitDelay
// bounds how long Wait blocks on pipes a stray grandchild holds. Any
// executor that starts processes (a sandbox runner too) should call it.
func ConfigureGroupKill(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		err := syscall.Kill(-pgid, syscall.SIGTERM)
		time.AfterFunc(KillGrace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	cmd.WaitDelay = 2 * KillGrace
}

// Fake records the commands it is asked to run and runs none of them.
type Fake struct {
	mu   sync.Mutex
	Cmds []Cmd
	// Fail, when set, decides the error for a command.
	Fail func(Cmd) error
}

// Run records c.
func (f *Fake) Run(_ context.Context, c Cmd, _ io.Writer) error {
	f.mu.Lock()
	f.Cmds = append(f.Cmds, c)
	f.mu.Unlock()
	if f.Fail != nil {
		return f.Fail(c)
	}
	return nil
}

// Tail keeps the last N lines written to it, for error reports.
type Tail struct {
	N     int
	mu    sync.Mutex
	lines []string
	part  bytes.Buffer
}

// Write implements io.Writer.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part.Write(p)
	for {
		line, err := t.part.ReadString('\n')
		if err != nil {
			t.part.Reset()
			t.part.WriteString(line)
			break
		}
		t.lines = append(t.lines, strings.TrimRight(line, "\n"))
		if len(t.lines) > t.N {
			t.lines = t.lines[len(t.lines)-t.N:]
		}
	}
	return len(p), nil
}

// String returns the kept lines.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if t.part.Len() > 0 {
		lines = append(append([]string(nil), lines...), t.part.String())
	}
	return strings.Join(lines, "\n")
}

// CommandError is a failed command with the end of its output.
type CommandError struct {
	Cmd  Cmd
	Tail string
	Err  error
}

// Error names the command by its argv only (its environment, often longer
// than a screen, is in the full log) and appends the end of its output.
func (e *CommandError) Error() string {
	if strings.TrimSpace(e.Tail) == "" {
		return fmt.Sprintf("%s: %v", e.Cmd.Argv(), e.Err)
	}
	return fmt.Sprintf("%s: %v\n--- last lines of output ---\n%s", e.Cmd.Argv(), e.Err, e.Tail)
}

func (e *CommandError) Unwrap() error { return e.Err }

// TailLines is how much output a CommandError keeps.
const TailLines = 20

// RunLogged runs c through r, echoing it and streaming its output to log,
// and wraps a failure with the last TailLines lines of output.
func RunLogged(ctx context.Context, r Runner, c Cmd, log io.Writer) error {
	tail := &Tail{N: TailLines}
	fmt.Fprintf(log, "+ %s\n", c)
	if err := r.Run(ctx, c, io.MultiWriter(log, tail)); err != nil {
		return &CommandError{Cmd: c, Tail: tail.String(), Err: err}
	}
	return nil
}
