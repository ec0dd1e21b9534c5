// Command gobin is a real Go binary for the SBOM test: it links a module
// from the Go module proxy, whose version and h1 hash the SBOM must name.
package main

import (
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func main() { fmt.Println(jsonschema.Draft2020.String()) }
