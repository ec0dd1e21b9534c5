package aptrepo

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/debforge/debforge/internal/packaging/debfile"
	"github.com/ulikunitz/xz"
)

// Fetcher reads one file of a repository by its path relative to the
// repository root.
type Fetcher func(ctx context.Context, rel string) ([]byte, error)

// maxFetch bounds any one file read from a repository (a Packages index of
// thousands of packages is a few MiB).
const maxFetch = 256 << 20

// NewFetcher reads from an http(s) URL or a local directory.
func NewFetcher(repo string) Fetcher {
	if strings.HasPrefix(repo, "http://") || strings.HasPrefix(repo, "https://") {
		base := strings.TrimSuffix(repo, "/") + "/"
		client := &http.Client{Timeout: 2 * time.Minute}
		return func(ctx context.Context, rel string) ([]byte, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+rel, nil)
			if err != nil {
				return nil, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("GET %s: %s", base+rel, resp.Status)
			}
			return readLimited(resp.Body, base+rel)
		}
	}
	dir := strings.TrimPrefix(repo, "file://")
	return func(ctx context.Context, rel string) ([]byte, error) {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readLimited(f, f.Name())
	}
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFetch+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxFetch {
		return nil, fmt.Errorf("read %s: larger than %d MiB", name, maxFetch>>20)
	}
	return data, nil
}

// ReadPublicKeys reads an armored or binary OpenPGP public keyring, or
// the key inline in a deb822 .sources file's Signed-By field (the file a
// host already has).
func ReadPublicKeys(data []byte) (openpgp.EntityList, error) {
	if inline := signedByKey(data); inline != nil {
		data = inline
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		keys, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("not an OpenPGP public key: %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("no OpenPGP key in it")
	}
	return keys, nil
}

// signedByKey returns the armored key of a .sources file's Signed-By
// field (continuation lines, " ." for empty lines), or nil.
func signedByKey(data []byte) []byte {
	for _, st := range ParseStanzas(data) {
		v := debfile.FieldValue(st, "Signed-By")
		if !strings.Contains(v, "BEGIN PGP PUBLIC KEY BLOCK") {
			continue
		}
		var b strings.Builder
		for _, line := range strings.Split(v, "\n") {
			line = strings.TrimSpace(line)
			if line == "." {
				line = ""
			}
			b.WriteString(line + "\n")
		}
		return []byte(strings.TrimLeft(b.String(), "\n"))
	}
	return nil
}

// KeyFingerprint is the fingerprint of a key in upper-case hex, as the
// front page and the .sources file show it.
func KeyFingerprint(e *openpgp.Entity) string {
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// ErrUnverified marks a repository whose InRelease does not verify with
// the trusted key, or whose indexes do not match what InRelease signs.
var ErrUnverified = errors.New("repository not verified")

// safeName keeps names read from Release out of path games.
var safeName = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)

// ReadRelease fetches dists/<codename>/InRelease, checks its signature
// with keys, its Codename and Valid-Until, then fetches every
// binary-<arch> Packages index by the hash InRelease lists and checks it
// against that hash. Only data that passed these checks is returned.
func ReadRelease(ctx context.Context, fetch Fetcher, keys openpgp.EntityList, codename string, now time.Time) (Release, error) {
	if !safeName.MatchString(codename) {
		return Release{}, fmt.Errorf("release name %q: expected a codename like bookworm", codename)
	}
	inRel := path.Join("dists", codename, "InRelease")
	data, err := fetch(ctx, inRel)
	if err != nil {
		return Release{}, fmt.Errorf("fetch %s: %w", inRel, err)
	}
	fields, signer, err := verifyInRelease(data, keys)
	if err != nil {
		return Release{}, fmt.Errorf("%s: %w: %w", inRel, ErrUnverified, err)
	}
	rel := Release{Codename: debfile.FieldValue(fields, "Codename"), Suite: debfile.FieldValue(fields, "Suite"),
		Date: debfile.FieldValue(fields, "Date"), ValidUntil: debfile.FieldValue(fields, "Valid-Until"), Archs: strings.Fields(debfile.FieldValue(fields, "Architectures")),
		SignedBy: signer}
	if rel.Codename != codename {
		return Release{}, fmt.Errorf("%s: %w: it is signed for codename %q, not %q", inRel, ErrUnverified, rel.Codename, codename)
	}
	if rel.ValidUntil != "" {
		until, err := parseReleaseTime(rel.ValidUntil)
		if err != nil {
			return Release{}, fmt.Errorf("%s: Valid-Until %q: %w", inRel, rel.ValidUntil, err)
		}
		if now.After(until) {
			return Release{}, fmt.Errorf("%s: %w: it expired at %s (Valid-Until); the repository must be published again", inRel, ErrUnverified, rel.ValidUntil)
		}
	}
	sums := releaseSums(debfile.FieldValue(fields, "SHA256"))
	byHash := strings.EqualFold(debfile.FieldValue(fields, "Acquire-By-Hash"), "yes")
	var stanzas [][]Field
	for _, comp := range strings.Fields(debfile.FieldValue(fields, "Components")) {
		for _, arch := range rel.Archs {
			if !safeName.MatchString(comp) || !safeName.MatchString(arch) {
				return Release{}, fmt.Errorf("%s: unexpected component %q or architecture %q", inRel, comp, arch)
			}
			st, err := fetchIndex(ctx, fetch, codename, path.Join(comp, "binary-"+arch), sums, byHash)
			if err != nil {
				return Release{}, err
			}
			stanzas = append(stanzas, st...)
		}
	}
	rel.Entries = EntriesFromStanzas(stanzas)
	return rel, nil
}

// weakDigests are the signature digests apt's verifiers refuse.
var weakDigests = map[crypto.Hash]bool{crypto.MD5: true, crypto.RIPEMD160: true, crypto.SHA1: true}

// verifyInRelease checks a clearsigned InRelease and returns the fields of
// its signed text and the fingerprint of the key that signed it. Nothing
// may come before or after the signed block: apt refuses that too, and
// text outside the signature is unauthenticated.
func verifyInRelease(data []byte, keys openpgp.EntityList) ([]Field, string, error) {
	if !bytes.HasPrefix(data, []byte("-----BEGIN PGP SIGNED MESSAGE-----")) {
		return nil, "", errors.New("it does not start with a clearsigned message")
	}
	block, rest := clearsign.Decode(data)
	if block == nil {
		return nil, "", errors.New("it is not a clearsigned message")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, "", errors.New("unsigned data follows the signature")
	}
	sig, signer, err := openpgp.VerifyDetachedSignature(keys, bytes.NewReader(block.Bytes), block.ArmoredSignature.Body, nil)
	if err == nil && weakDigests[sig.Hash] {
		return nil, "", fmt.Errorf("it is signed with a %s digest, which apt refuses as too weak: sign with SHA-256 or stronger", sig.Hash)
	}
	if err != nil {
		trusted := make([]string, len(keys))
		for i, k := range keys {
			trusted[i] = KeyFingerprint(k)
		}
		return nil, "", fmt.Errorf("the signature does not verify with the trusted key %s: %w", strings.Join(trusted, ", "), err)
	}
	st := ParseStanzas(block.Plaintext)
	if len(st) == 0 {
		return nil, "", errors.New("the signed text is empty")
	}
	return st[0], KeyFingerprint(signer), nil
}

// parseReleaseTime reads a Release date: RFC 1123 with a numeric zone
// (as debforge writes it) or a zone name ("UTC", as Debian writes it).
func parseReleaseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC1123Z, v)
	if err != nil {
		t, err = time.Parse(time.RFC1123, v)
	}
	return t, err
}

type sum struct {
	hash string
	size int64
}

// releaseSums parses the SHA256 field of a Release file.
func releaseSums(v string) map[string]sum {
	out := map[string]sum{}
	for _, line := range strings.Split(v, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err == nil {
			out[f[2]] = sum{strings.ToLower(f[0]), n}
		}
	}
	return out
}

// fetchIndex fetches dir's Packages.gz (else .xz, else Packages) as
// listed in Release and checks size and SHA-256 before parsing it.
func fetchIndex(ctx context.Context, fetch Fetcher, codename, dir string, sums map[string]sum, byHash bool) ([][]Field, error) {
	for _, name := range []string{"Packages.gz", "Packages.xz", "Packages"} {
		want, ok := sums[path.Join(dir, name)]
		if !ok {
			continue
		}
		rel := path.Join("dists", codename, dir, name)
		if byHash {
			rel = path.Join("dists", codename, dir, "by-hash", "SHA256", want.hash)
		}
		data, err := fetch(ctx, rel)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", rel, err)
		}
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != want.hash || int64(len(data)) != want.size {
			return nil, fmt.Errorf("%s: %w: its SHA-256 %x (%d bytes) is not the %s (%d bytes) that InRelease signs", rel, ErrUnverified, got, len(data), want.hash, want.size)
		}
		var z io.Reader
		switch path.Ext(name) {
		case ".gz":
			z, err = gzip.NewReader(bytes.NewReader(data))
		case ".xz":
			z, err = xz.NewReader(bytes.NewReader(data))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		if z != nil {
			if data, err = readLimited(z, rel); err != nil {
				return nil, err
			}
		}
		return ParseStanzas(data), nil
	}
	return nil, fmt.Errorf("dists/%s/InRelease lists no %s/Packages index", codename, dir)
}

// PublishedKey fetches the repository's <keyName>.asc and returns it only
// if its fingerprint is fpr (spaces and case ignored): the key is trusted
// because the user vouched for its fingerprint, not because the server
// handed it out.
func PublishedKey(ctx context.Context, fetch Fetcher, keyName, fpr string) (openpgp.EntityList, error) {
	want := strings.ToUpper(strings.Join(strings.Fields(fpr), ""))
	data, err := fetch(ctx, keyName+".asc")
	if err != nil {
		return nil, fmt.Errorf("fetch the published key: %w", err)
	}
	keys, err := ReadPublicKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s.asc: %w", keyName, err)
	}
	if len(keys) != 1 || KeyFingerprint(keys[0]) != want {
		return nil, fmt.Errorf("%s.asc: %w: its key %s is not the fingerprint %s you trust", keyName, ErrUnverified, KeyFingerprint(keys[0]), want)
	}
	return keys, nil
}
