// Command cgohello prints its version and the version of the libseccomp
// it is statically linked with: a small stand-in for runc (cgo, static
// PIE, libseccomp from the build root, a man page from help2man).
package main

/*
#cgo pkg-config: libseccomp
#include <seccomp.h>
*/
import "C"

import (
	"fmt"
	"os"
)

var version = "unset"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--help" {
		fmt.Println("Usage: cgohello [--help|--version]")
		fmt.Println()
		fmt.Println("Print the version of cgohello and of the libseccomp it links.")
		return
	}
	v := C.seccomp_version()
	fmt.Printf("cgohello %s (libseccomp %d.%d.%d)\n", version, v.major, v.minor, v.micro)
}
