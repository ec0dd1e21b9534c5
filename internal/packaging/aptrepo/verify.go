package aptrepo

import (
	"archive/tar"
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/blakesmith/ar"

	"github.com/debforge/debforge/internal/packaging/debfile"
)

// VerifyDeb reads a .deb to its end and checks what dpkg would trip over:
// the ar members (debian-binary "2.0", then control.tar.*, then
// data.tar.*), a control file with Package, Version and Architecture,
// a data.tar that decompresses fully (to its checksum trailer), and every
// regular file of data.tar against md5sums. It streams: nothing the size
// of the payload is held in memory.
func VerifyDeb(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := ar.NewReader(bufio.NewReaderSize(f, 64<<10))
	var members []string
	var control, md5sums, conffiles []byte
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("ar archive: %w", err)
		}
		name := strings.TrimRight(h.Name, "/ ")
		members = append(members, name)
		switch {
		case len(members) == 1:
			if name != "debian-binary" {
				return fmt.Errorf("first ar member is %q, not debian-binary", name)
			}
			b, err := io.ReadAll(io.LimitReader(r, 64))
			if err != nil {
				return fmt.Errorf("debian-binary: %w", err)
			}
			if !strings.HasPrefix(string(b), "2.") {
				return fmt.Errorf("debian-binary: format %q, want 2.0", strings.TrimSpace(string(b)))
			}
		case len(members) == 2:
			if !strings.HasPrefix(name, "control.tar") {
				return fmt.Errorf("second ar member is %q, not control.tar", name)
			}
			err := eachTarEntry(name, r, func(th *tar.Header, body io.Reader) error {
				var dst *[]byte
				switch strings.TrimPrefix(th.Name, "./") {
				case "control":
					dst = &control
				case "md5sums":
					dst = &md5sums
				case "conffiles":
					dst = &conffiles
				default:
					return nil
				}
				b, err := io.ReadAll(io.LimitReader(body, 64<<20))
				*dst = b
				return err
			})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := checkControl(control); err != nil {
				return err
			}
		case len(members) == 3:
			if !strings.HasPrefix(name, "data.tar") {
				return fmt.Errorf("third ar member is %q, not data.tar", name)
			}
			if err := checkData(name, r, md5sums, conffiles); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if len(members) < 3 {
		return fmt.Errorf("ar archive has %d members (%s), want debian-binary, control.tar and data.tar", len(members), strings.Join(members, ", "))
	}
	return nil
}

func checkControl(control []byte) error {
	if control == nil {
		return errors.New("control.tar has no control file")
	}
	fields := debfile.ParseFields(control)
	get := func(n string) string {
		for _, f := range fields {
			if strings.EqualFold(f.Name, n) {
				return f.Value
			}
		}
		return ""
	}
	for _, n := range []string{"Package", "Version", "Architecture"} {
		if get(n) == "" {
			return fmt.Errorf("control file lacks %s", n)
		}
	}
	return nil
}

// checkData decompresses data.tar to its end and compares each regular
// file with md5sums (when the package has one; conffiles may be absent
// from it, as dh_md5sums leaves them out).
func checkData(name string, r io.Reader, md5sums, conffiles []byte) error {
	want := map[string]string{}
	for _, line := range strings.Split(string(md5sums), "\n") {
		sum, file, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok {
			want[strings.TrimLeft(strings.TrimSpace(file), "*/")] = strings.ToLower(sum)
		}
	}
	conf := map[string]bool{}
	for _, line := range strings.Split(string(conffiles), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			conf[strings.TrimPrefix(line, "/")] = true
		}
	}
	seen := map[string]bool{}
	h := md5.New()
	err := eachTarEntry(name, r, func(th *tar.Header, body io.Reader) error {
		if th.Typeflag != tar.TypeReg {
			return nil
		}
		file := strings.TrimPrefix(strings.TrimPrefix(th.Name, "./"), "/")
		h.Reset()
		if _, err := io.Copy(h, body); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if md5sums == nil {
			return nil
		}
		sum, listed := want[file]
		switch {
		case !listed && !conf[file]:
			return fmt.Errorf("%s is not in md5sums", file)
		case listed && sum != hex.EncodeToString(h.Sum(nil)):
			return fmt.Errorf("%s does not match its md5sum", file)
		}
		seen[file] = true
		return nil
	})
	if err != nil {
		return err
	}
	for file := range want {
		if !seen[file] {
			return fmt.Errorf("md5sums lists %s, which data.tar lacks", file)
		}
	}
	return nil
}

// eachTarEntry decompresses a tar member, calls fn for each entry, and
// then reads the stream to its end so the compressor's own checksum (the
// gzip CRC, the xz check) is verified too.
func eachTarEntry(name string, r io.Reader, fn func(*tar.Header, io.Reader) error) error {
	dr, closeFn, err := debfile.Decompressor(name, r)
	if err != nil {
		return err
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	for {
		th, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := fn(th, tr); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, dr); err != nil {
		return err
	}
	return nil
}
