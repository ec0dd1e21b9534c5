// Command gohello prints its version, set at link time.
package main

import "fmt"

var version = "unset"

func main() { fmt.Println("gohello", version) }
