// Package executor describes the job both executors run: a build root,
// the directories bound into it, the environment and the ids commands run
// as. executor/sandbox runs a job on this host with bubblewrap;
// executor/buildkit lowers the same job to BuildKit LLB for a worker.
// Neither executor knows the other: both take a Job.
package executor

// Bind makes host directory Host visible at Path inside the build root.
type Bind struct {
	Host, Path string
	Write      bool
}

// Limits are resource limits on every command of a job and everything it
// starts, which no process in it can raise.
type Limits struct {
	// DataBytes is each process's data segment (RLIMIT_DATA): its heap
	// and private writable mappings, what a runaway compile grows.
	DataBytes int64
	// Processes is RLIMIT_NPROC: processes and threads of the build uid.
	Processes int
}

// Job is where and as whom a build's commands run.
type Job struct {
	// Root is the unpacked build root, bound read-only at /.
	Root  string
	Binds []Bind
	// TrustedBinds are bound for trusted commands only (execx.Cmd.Trusted),
	// each in place of the bind at its path: the compile cache several
	// components share, which no command a spec controls may see.
	TrustedBinds []Bind
	// Env is the whole environment of every command (nothing is inherited
	// from debforge's); a command's own Env entries come after and win.
	Env []string
	// UID and GID are the host ids commands run as when debforge is root
	// (sandbox.BuildIDs); as another user, commands run as that user.
	UID, GID int
	// Limits, when set, bound every command's processes.
	Limits *Limits
}
