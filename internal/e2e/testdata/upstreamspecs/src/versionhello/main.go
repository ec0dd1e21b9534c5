// Command versionhello greets the user and prints its version the way
// many Go programs do: from the build info the go command stamps into the
// binary.
package main

import (
	"fmt"
	"os"
	"os/user"
	"runtime/debug"
)

func main() {
	version := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
	}
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("versionhello", version)
		return
	}
	name := "world"
	if u, err := user.Current(); err == nil { // getpwuid_r through cgo
		name = u.Username
	}
	fmt.Printf("hello, %s\n", name)
}
