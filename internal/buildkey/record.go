package buildkey

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/debforge/debforge/internal/atomicfile"
)

// Record is what the last build of a component (per target) keyed its
// package by: build --explain compares the inputs it would use now.
type Record struct {
	Key    string  `json:"key"`
	Inputs []Input `json:"inputs"`
}

// WriteRecord keeps at path the key and inputs of the package just
// built or found. It is best effort: a run that cannot write it only
// explains less next time. A cache hit usually finds its record as it
// is: it is then not written again (a synced write per component would
// weigh on a no-op build).
func WriteRecord(path, key string, inputs []Input) {
	data, err := json.MarshalIndent(Record{Key: key, Inputs: inputs}, "", "  ")
	if err != nil {
		return
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		atomicfile.Write(path, data, 0o644)
	}
}

// ReadRecord reads the record at path; ok is false when there is none
// that can be read.
func ReadRecord(path string) (rec Record, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &rec) != nil {
		return Record{}, false
	}
	return rec, true
}
