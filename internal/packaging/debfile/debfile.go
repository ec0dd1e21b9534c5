// Package debfile reads .deb archives in pure Go: the control fields and
// files, and the list of data entries. The apt repository indexer and the
// tests use it; nothing here runs dpkg.
package debfile

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/blakesmith/ar"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Entry is one member of data.tar.
type Entry struct {
	Name     string // as in the archive, e.g. "./usr/bin/runc"
	Mode     int64
	Type     byte
	Size     int64
	Linkname string
	Uname    string
	Gname    string
	ModTime  int64
	Body     []byte // file contents, only when requested
}

// Deb is a parsed .deb.
type Deb struct {
	// Control is the raw control file; Fields its parsed fields in order.
	Control []byte
	Fields  []Field
	// ControlFiles holds every member of control.tar (md5sums, postinst ...).
	ControlFiles map[string][]byte
	Data         []Entry
	// Members are the ar member names in order (data.tar is not reached
	// without Options.Data).
	Members []string
}

// Field is one control field.
type Field struct{ Name, Value string }

// Get returns a control field's value.
func (d *Deb) Get(name string) string { return FieldValue(d.Fields, name) }

// FieldValue returns the value of the field name (any case) in fields,
// or "": a control file's, a Packages or a Release stanza's.
func FieldValue(fields []Field, name string) string {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Options choose how much to read.
type Options struct {
	// Data reads data.tar's entry list (slower: decompresses the payload).
	Data bool
	// Bodies also keeps file contents of data entries.
	Bodies bool
	// BodyOf keeps the contents of this one data entry (e.g.
	// "./usr/share/doc/x/changelog.Debian.gz") without Bodies.
	BodyOf string
}

// ReadFile parses the .deb at path.
func ReadFile(path string, opt Options) (*Deb, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := Read(f, opt)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return d, nil
}

// Read parses a .deb from r.
func Read(r io.Reader, opt Options) (*Deb, error) {
	ar := ar.NewReader(r)
	d := &Deb{ControlFiles: map[string][]byte{}}
members:
	for {
		h, err := ar.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimRight(h.Name, "/ ")
		d.Members = append(d.Members, name)
		switch {
		case strings.HasPrefix(name, "control.tar"):
			err = readTar(name, ar, func(th *tar.Header, body io.Reader) error {
				if th.Typeflag != tar.TypeReg {
					return nil
				}
				b, err := io.ReadAll(body)
				d.ControlFiles[strings.TrimPrefix(th.Name, "./")] = b
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if !opt.Data {
				// data.tar follows (policy: control first, data last):
				// reading on would only read the payload to skip it.
				break members
			}
		case strings.HasPrefix(name, "data.tar") && opt.Data:
			err = readTar(name, ar, func(th *tar.Header, body io.Reader) error {
				e := Entry{Name: th.Name, Mode: th.Mode, Type: th.Typeflag, Size: th.Size, Linkname: th.Linkname, Uname: th.Uname, Gname: th.Gname, ModTime: th.ModTime.Unix()}
				if (opt.Bodies || th.Name == opt.BodyOf) && th.Typeflag == tar.TypeReg {
					b, err := io.ReadAll(body)
					if err != nil {
						return err
					}
					e.Body = b
				}
				d.Data = append(d.Data, e)
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	d.Control = d.ControlFiles["control"]
	if d.Control == nil {
		return nil, fmt.Errorf("no control file")
	}
	d.Fields = ParseFields(d.Control)
	return d, nil
}

// ParseFields splits a deb822 stanza into fields, keeping continuation
// lines (with their leading space) in the value.
func ParseFields(b []byte) []Field {
	var fields []Field
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 16*1024*1024) // long Description lines grow it
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1].Value += "\n" + line
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields = append(fields, Field{Name: name, Value: strings.TrimSpace(val)})
	}
	return fields
}

var gzipReaders sync.Pool

// Decompressor returns a reader decompressing r according to the member
// name's suffix (.gz, .xz, .zst or none).
func Decompressor(name string, r io.Reader) (io.Reader, func(), error) {
	switch {
	case strings.HasSuffix(name, ".gz"):
		// Reuse readers: each new one allocates its tables, which dominates
		// indexing many small packages.
		z, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if z == nil {
			z, err = gzip.NewReader(r)
		} else {
			err = z.Reset(r)
		}
		if err != nil {
			return nil, nil, err
		}
		return z, func() { gzipReaders.Put(z) }, nil
	case strings.HasSuffix(name, ".xz"):
		z, err := xz.NewReader(r)
		return z, func() {}, err
	case strings.HasSuffix(name, ".zst"):
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	case strings.HasSuffix(name, ".tar"):
		return r, func() {}, nil
	}
	return nil, nil, fmt.Errorf("unknown compression of %s", name)
}

func readTar(name string, r io.Reader, fn func(*tar.Header, io.Reader) error) error {
	dr, closeFn, err := Decompressor(name, r)
	if err != nil {
		return err
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}
