package sandbox

import (
	"os"
	"syscall"
)

func searchable(st os.FileInfo, uid, gid int) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	m := st.Mode().Perm()
	switch {
	case int(sys.Uid) == uid:
		return m&0o100 != 0
	case int(sys.Gid) == gid:
		return m&0o010 != 0
	default:
		return m&0o001 != 0
	}
}
