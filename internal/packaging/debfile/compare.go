package debfile

import (
	"bytes"
	"os"
	"sort"
)

// Compare lists what differs between the .debs at paths a and b: the
// control files and data entries (body, mode, time, link target) that
// differ or are in one only, or the archive framing when they all
// match; nothing when the files are identical.
func Compare(a, b string) ([]string, error) {
	ba, err := os.ReadFile(a)
	if err != nil {
		return nil, err
	}
	bb, err := os.ReadFile(b)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(ba, bb) {
		return nil, nil
	}
	da, err := Read(bytes.NewReader(ba), Options{Data: true, Bodies: true})
	if err != nil {
		return nil, err
	}
	db, err := Read(bytes.NewReader(bb), Options{Data: true, Bodies: true})
	if err != nil {
		return nil, err
	}
	var diffs []string
	for name, body := range da.ControlFiles {
		if !bytes.Equal(body, db.ControlFiles[name]) {
			diffs = append(diffs, "control.tar: "+name)
		}
	}
	entries := map[string]Entry{}
	for _, e := range db.Data {
		entries[e.Name] = e
	}
	for _, e := range da.Data {
		o, ok := entries[e.Name]
		switch {
		case !ok:
			diffs = append(diffs, e.Name+" (only in the first build)")
		case !bytes.Equal(e.Body, o.Body) || e.Mode != o.Mode || e.ModTime != o.ModTime || e.Linkname != o.Linkname:
			diffs = append(diffs, e.Name)
		}
		delete(entries, e.Name)
	}
	for name := range entries {
		diffs = append(diffs, name+" (only in the second build)")
	}
	if len(diffs) == 0 {
		diffs = append(diffs, "archive framing (ar or tar headers)")
	}
	sort.Strings(diffs)
	return diffs, nil
}
