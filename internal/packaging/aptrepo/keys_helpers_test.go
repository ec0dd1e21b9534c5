package aptrepo

import (
	"errors"
	"os"
)

// LoadOrCreateKey reads the key at path, or creates one there when the
// file does not exist; created reports which. The tests' key maker: debforge
// itself never creates a key at a path it was given (forge.CreateSigningKey).
func LoadOrCreateKey(path, name, email string) (s *Signer, created bool, err error) {
	s, err = LoadKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return s, false, err
	}
	s, err = CreateKey(path, name, email)
	return s, err == nil, err
}
