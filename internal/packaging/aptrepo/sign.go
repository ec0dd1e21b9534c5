package aptrepo

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Signer signs Release files with one OpenPGP key, or with several while
// a key is being rotated: the current key first, then previous keys, all
// published and all signing, so hosts that trust either accept the
// repository during the changeover.
type Signer struct {
	entities []*openpgp.Entity
}

// signConfig forces SHA-256: apt (gpgv and sqv) rejects SHA-1 signatures.
var signConfig = &packet.Config{DefaultHash: crypto.SHA256}

// LoadKey reads the armored private key at path. A missing file is an
// error wrapping os.ErrNotExist: callers decide whether a new key may be
// made, never this function.
func LoadKey(path string) (*Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	defer f.Close()
	s, err := ReadKey(f)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s is readable by others (mode %04o); run: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	return s, nil
}

// CreateKey generates an Ed25519 (legacy EdDSA, v4) key, which both
// bookworm's gpgv and trixie's sqv accept, and saves it at path with mode
// 0600. It never replaces an existing file.
func CreateKey(path, name, email string) (*Signer, error) {
	e, err := openpgp.NewEntity(name, "apt repository signing key", email, &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		Curve:       packet.Curve25519,
		DefaultHash: crypto.SHA256,
	})
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		return nil, err
	}
	w.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-key-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	// A hard link fails if path exists: two runs never overwrite a key.
	if err := os.Link(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("save signing key: %w", err)
	}
	return &Signer{entities: []*openpgp.Entity{e}}, nil
}

// With returns a signer that signs with s and every previous key, and
// publishes all their public keys; s stays the current key.
func (s *Signer) With(previous ...*Signer) *Signer {
	out := &Signer{entities: append([]*openpgp.Entity{}, s.entities...)}
	seen := map[string]bool{}
	for _, e := range out.entities {
		seen[fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)] = true
	}
	for _, p := range previous {
		for _, e := range p.entities {
			if fp := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint); !seen[fp] {
				seen[fp] = true
				out.entities = append(out.entities, e)
			}
		}
	}
	return out
}

// ReadKey reads an armored or binary private key.
func ReadKey(r io.Reader) (*Signer, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, err
	}
	if len(list) == 0 || list[0].PrivateKey == nil {
		return nil, errors.New("no private key found")
	}
	if list[0].PrivateKey.Encrypted {
		return nil, errors.New("the private key is passphrase-protected; export it without a passphrase for unattended signing")
	}
	return &Signer{entities: []*openpgp.Entity{list[0]}}, nil
}

// Fingerprint is the current key's fingerprint in upper-case hex.
func (s *Signer) Fingerprint() string {
	return fmt.Sprintf("%X", s.entities[0].PrimaryKey.Fingerprint)
}

// Fingerprints lists every key's fingerprint, the current key first.
func (s *Signer) Fingerprints() []string {
	out := make([]string, len(s.entities))
	for i, e := range s.entities {
		out[i] = fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
	}
	return out
}

// PublicKey returns every public key, armored (.asc) or binary (.gpg), in
// one block: apt's Signed-By and /usr/share/keyrings files take several.
func (s *Signer) PublicKey(armored bool) ([]byte, error) {
	var buf bytes.Buffer
	var w io.Writer = &buf
	var aw io.WriteCloser
	if armored {
		var err error
		aw, err = armor.Encode(&buf, openpgp.PublicKeyType, nil)
		if err != nil {
			return nil, err
		}
		w = aw
	}
	for _, e := range s.entities {
		if err := e.Serialize(w); err != nil {
			return nil, err
		}
	}
	if aw != nil {
		aw.Close()
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// ClearSign returns the InRelease form of release, signed by every key.
func (s *Signer) ClearSign(release []byte) ([]byte, error) {
	var buf bytes.Buffer
	keys := make([]*packet.PrivateKey, len(s.entities))
	for i, e := range s.entities {
		keys[i] = e.PrivateKey
	}
	w, err := clearsign.EncodeMulti(&buf, keys, signConfig)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(release); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DetachSign returns the armored Release.gpg: one signature per key in one
// armor block, as gpgv and sqv read it.
func (s *Signer) DetachSign(release []byte) ([]byte, error) {
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, openpgp.SignatureType, nil)
	if err != nil {
		return nil, err
	}
	for _, e := range s.entities {
		if err := openpgp.DetachSign(aw, e, bytes.NewReader(release), signConfig); err != nil {
			return nil, err
		}
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
