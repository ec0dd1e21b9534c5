package spec

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Limits bound what one component's build may use. Each is enforced where
// the build runs in the local sandbox, and a step that hits one fails
// with an error naming it and how to raise it.
type Limits struct {
	// Memory is each build process's data segment (heap and private
	// writable mappings, RLIMIT_DATA), e.g. 8GiB.
	Memory string `yaml:"memory"`
	// Processes is how many processes and threads the build user may run
	// at once (RLIMIT_NPROC; concurrent builds share it).
	Processes int `yaml:"processes"`
	// StepTime is the wall time one build step may take, e.g. 2h or 90m.
	StepTime string `yaml:"step_time"`
	// UnpackedSize is how much file content a fetched archive may unpack
	// to, e.g. 8GiB.
	UnpackedSize string `yaml:"unpacked_size"`
}

// DefaultLimits apply where a spec sets none: far above what the stack's
// largest build uses (a Go link of about 2 GiB, a few hundred threads,
// minutes per step, sources of a few hundred MiB), far below what takes
// a host down.
var DefaultLimits = Limits{Memory: "8GiB", Processes: 16384, StepTime: "2h", UnpackedSize: "8GiB"}

// MemoryBytes is the memory limit in bytes.
func (l Limits) MemoryBytes() int64 {
	n, _ := ParseBytes(cmp.Or(l.Memory, DefaultLimits.Memory))
	return n
}

// ProcessCount is the process limit.
func (l Limits) ProcessCount() int {
	if l.Processes > 0 {
		return l.Processes
	}
	return DefaultLimits.Processes
}

// StepDuration is the wall time limit of one step.
func (l Limits) StepDuration() time.Duration {
	d, _ := time.ParseDuration(cmp.Or(l.StepTime, DefaultLimits.StepTime))
	return d
}

// UnpackedBytes is the unpacked size limit in bytes.
func (l Limits) UnpackedBytes() int64 {
	n, _ := ParseBytes(cmp.Or(l.UnpackedSize, DefaultLimits.UnpackedSize))
	return n
}

var bytesRe = regexp.MustCompile(`^([0-9]+)(KiB|MiB|GiB|TiB)?$`)

// ParseBytes reads a size in bytes or in binary units (KiB, MiB, GiB,
// TiB), e.g. 512MiB.
func ParseBytes(s string) (int64, error) {
	m := bytesRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a size: write a whole number with KiB, MiB, GiB or TiB, e.g. 8GiB", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	shift := map[string]uint{"": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	if n <= 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n << shift, nil
}

// checkLimits validates a spec's limits.
func checkLimits(p *problems, at func(...string) *yaml.Node, l Limits) {
	for _, f := range []struct{ key, val string }{{"memory", l.Memory}, {"unpacked_size", l.UnpackedSize}} {
		if f.val == "" {
			continue
		}
		if _, err := ParseBytes(f.val); err != nil {
			p.add(at("limits", f.key), "limits."+f.key, "e.g. "+f.key+": 16GiB", "%v", err)
		}
	}
	if l.Processes < 0 {
		p.add(at("limits", "processes"), "limits.processes", "e.g. processes: 8192", "must be positive")
	}
	if l.StepTime != "" {
		if d, err := time.ParseDuration(l.StepTime); err != nil || d <= 0 {
			p.add(at("limits", "step_time"), "limits.step_time", "a duration, e.g. step_time: 3h or 90m", "%q is not a positive duration", l.StepTime)
		}
	}
}

// FormatBytes writes n in the largest binary unit that divides it
// (8GiB, 512MiB, 100KiB), or in bytes.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
