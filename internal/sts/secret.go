package sts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretFileName is the file in the data directory that holds a generated
// signing-key secret (SQLite mode only).
const SecretFileName = "signing-key.secret"

// ErrNoSecret means no signing-key secret was configured where one cannot be
// generated safely (PostgreSQL: every replica must share it).
var ErrNoSecret = errors.New("token exchange needs a signing-key secret: set --signing-key-secret-file or " +
	"LATCHKEY_SIGNING_KEY_SECRET to the same random value (e.g. `openssl rand -base64 32`) on every replica")

// SecretSource says where the signing-key secret came from, for the log.
type SecretSource string

// Where a secret can come from.
const (
	SecretConfigured SecretSource = "configured" // flag, environment, config file or --signing-key-secret-file
	SecretFile       SecretSource = "data-dir"   // read from the data directory
	SecretGenerated  SecretSource = "generated"  // generated now into the data directory
)

// ResolveSecret returns the secret that encrypts signing keys at rest. A
// configured secret wins. Otherwise, with a data directory (SQLite mode), the
// secret is read from SecretFileName there, or generated into it (0600) on
// first start. Without one (PostgreSQL mode) it returns ErrNoSecret: a
// secret generated on one replica could not decrypt keys made by another.
func ResolveSecret(configured, dataDir string) ([]byte, SecretSource, string, error) {
	if configured != "" {
		return []byte(configured), SecretConfigured, "", nil
	}
	if dataDir == "" {
		return nil, "", "", ErrNoSecret
	}
	path := filepath.Join(dataDir, SecretFileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(b))
		if len(s) < 16 {
			return nil, "", path, fmt.Errorf("signing-key secret file %s is shorter than 16 characters; restore it from a backup (the keys it encrypted cannot be read without it)", path)
		}
		return []byte(s), SecretFile, path, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", path, fmt.Errorf("read signing-key secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", path, fmt.Errorf("create data directory: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", path, fmt.Errorf("generate signing-key secret: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw[:])
	// O_EXCL: if another process generated one meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return ResolveSecret("", dataDir)
	}
	if err != nil {
		return nil, "", path, fmt.Errorf("write signing-key secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, "", path, fmt.Errorf("write signing-key secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, "", path, fmt.Errorf("write signing-key secret: %w", err)
	}
	return []byte(s), SecretGenerated, path, nil
}

// sealer encrypts private keys at rest with AES-256-GCM under a key derived
// from the secret with HKDF-SHA256. The key id is the associated data, so a
// ciphertext copied onto another key's row does not decrypt.
type sealer struct{ aead cipher.AEAD }

// sealVersion is the first byte of every sealed blob.
const sealVersion = 1

const hkdfInfo = "latchkey signing-key encryption v1"

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	key, err := hkdf.Key(sha256.New, secret, nil, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive signing-key encryption key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("signing-key cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("signing-key cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(kid string, plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal signing key: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, plain, []byte(kid)), nil
}

// errWrongSecret is returned when a stored key does not decrypt.
var errWrongSecret = errors.New("it does not decrypt with the configured signing-key secret; " +
	"restore the secret it was made with, or run `latchkey keys rotate` to start signing with a new key")

func (s *sealer) open(kid string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("signing key %s: stored private key is malformed: %w", kid, errWrongSecret)
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", kid, errWrongSecret)
	}
	return plain, nil
}
