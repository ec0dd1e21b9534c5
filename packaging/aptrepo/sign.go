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

// Signer signs Release files with an OpenPGP key.
type Signer struct {
	entity *openpgp.Entity
}

// signConfig forces SHA-256: apt (gpgv and sqv) rejects SHA-1 signatures.
var signConfig = &packet.Config{DefaultHash: crypto.SHA256}

// LoadOrCreateKey reads an armored private key from path, or, when the
// file does not exist, generates an Ed25519 (legacy EdDSA, v4) key, which
// both bookworm's gpgv and trixie's sqv accept, and saves it with mode
// 0600. created reports whether a new key was made.
func LoadOrCreateKey(path, name, email string) (s *Signer, created bool, err error) {
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		s, err := ReadKey(f)
		if err != nil {
			return nil, false, fmt.Errorf("signing key %s: %w", path, err)
		}
		if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("signing key %s is readable by others (mode %04o); run: chmod 600 %s", path, st.Mode().Perm(), path)
		}
		return s, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	e, err := openpgp.NewEntity(name, "apt repository signing key", email, &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		Curve:       packet.Curve25519,
		DefaultHash: crypto.SHA256,
	})
	if err != nil {
		return nil, false, fmt.Errorf("generate signing key: %w", err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, false, err
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		return nil, false, err
	}
	w.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return nil, false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, false, err
	}
	return &Signer{entity: e}, true, nil
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
	return &Signer{entity: list[0]}, nil
}

// Fingerprint is the key's fingerprint in upper-case hex.
func (s *Signer) Fingerprint() string {
	return fmt.Sprintf("%X", s.entity.PrimaryKey.Fingerprint)
}

// PublicKey returns the public key, armored (.asc) or binary (.gpg).
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
	if err := s.entity.Serialize(w); err != nil {
		return nil, err
	}
	if aw != nil {
		aw.Close()
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// ClearSign returns the InRelease form of release.
func (s *Signer) ClearSign(release []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, s.entity.PrivateKey, signConfig)
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

// DetachSign returns the armored Release.gpg signature of release.
func (s *Signer) DetachSign(release []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, s.entity, bytes.NewReader(release), signConfig); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
