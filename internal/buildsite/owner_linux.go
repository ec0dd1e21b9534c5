package buildsite

import (
	"os"
	"syscall"
)

// owner is the uid that owns p; -1 when it cannot be read.
func owner(p string) int {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return -1
}
