package sts

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/store"
)

// KeyStore is the part of the store the keyring uses.
type KeyStore interface {
	CreateSigningKey(ctx context.Context, k *store.SigningKey) error
	ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error)
	UpdateSigningKey(ctx context.Context, id string, fn func(*store.SigningKey) error) (*store.SigningKey, error)
	DeleteSigningKey(ctx context.Context, id string) error
}

// Algorithms a signing key may use.
const (
	ES256 = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// RetentionMargin is how long a retired key stays published beyond the
// longest JWT lifetime: room for clock skew and verifiers' JWKS caches.
const RetentionMargin = time.Hour

// KeyringOptions configure a Keyring.
type KeyringOptions struct {
	Algorithm   string        // of new keys: ES256 (default) or EdDSA
	Secret      []byte        // encrypts private keys at rest
	JWTLifetime time.Duration // the longest JWT lifetime; bounds key retention
	// Reload is how long the key list read from the store is reused; keys
	// rotated by another replica or by `latchkey keys rotate` are seen
	// within it. Default 1s.
	Reload time.Duration
	Now    func() time.Time
}

// Keyring holds the signing keys: the newest key signs; older ones were
// retired when a newer one took over and stay published in the JWKS until
// every JWT they signed has expired. It reads through to the store, so all
// replicas and the CLI share one set of keys.
type Keyring struct {
	st   KeyStore
	opts KeyringOptions
	seal *sealer

	mu      sync.Mutex
	keys    []*store.SigningKey // newest first
	loaded  time.Time
	public  map[string]*jose.JSONWebKey
	signers map[string]jose.Signer // decrypted, by kid
}

// NewKeyring returns a keyring on st. It does not touch the store yet.
func NewKeyring(st KeyStore, opts KeyringOptions) (*Keyring, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = ES256
	}
	if opts.Algorithm != ES256 && opts.Algorithm != EdDSA {
		return nil, fmt.Errorf("signing algorithm must be ES256 or EdDSA, not %q", opts.Algorithm)
	}
	if opts.Reload <= 0 {
		opts.Reload = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s, err := newSealer(opts.Secret)
	if err != nil {
		return nil, err
	}
	return &Keyring{st: st, opts: opts, seal: s, public: map[string]*jose.JSONWebKey{}, signers: map[string]jose.Signer{}}, nil
}

// Retention is how long a retired key stays published.
func (k *Keyring) Retention() time.Duration { return k.opts.JWTLifetime + RetentionMargin }

// Ensure makes sure a key of the configured algorithm signs and that it
// decrypts with the configured secret: it creates the first key, and
// rotates when the algorithm was changed.
func (k *Keyring) Ensure(ctx context.Context) error {
	keys, err := k.reload(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 || keys[0].Algorithm != k.opts.Algorithm {
		if _, err := k.Rotate(ctx); err != nil {
			return err
		}
	}
	_, _, err = k.Signer(ctx)
	return err
}

// Keys returns every key, newest first, reading the store when the cached
// list is older than the reload interval.
func (k *Keyring) Keys(ctx context.Context) ([]*store.SigningKey, error) {
	k.mu.Lock()
	fresh := !k.loaded.IsZero() && k.opts.Now().Sub(k.loaded) < k.opts.Reload
	keys := k.keys
	k.mu.Unlock()
	if fresh {
		return keys, nil
	}
	return k.reload(ctx)
}

func (k *Keyring) reload(ctx context.Context) ([]*store.SigningKey, error) {
	keys, err := k.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	public := make(map[string]*jose.JSONWebKey, len(keys))
	for _, sk := range keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(sk.PublicJWK); err != nil || !jwk.IsPublic() {
			return nil, fmt.Errorf("signing key %s: stored public key is not a public JWK", sk.ID)
		}
		public[sk.ID] = &jwk
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys, k.public, k.loaded = keys, public, k.opts.Now()
	for kid := range k.signers {
		if _, ok := public[kid]; !ok {
			delete(k.signers, kid)
		}
	}
	return keys, nil
}

// Signer returns the signer of the newest key and its key.
func (k *Keyring) Signer(ctx context.Context) (jose.Signer, *store.SigningKey, error) {
	keys, err := k.Keys(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) == 0 {
		return nil, nil, errors.New("no signing key: the token-exchange service has not been started on this database")
	}
	cur := keys[0]
	k.mu.Lock()
	s, ok := k.signers[cur.ID]
	k.mu.Unlock()
	if ok {
		return s, cur, nil
	}
	s, err = k.newSigner(cur)
	if err != nil {
		return nil, nil, err
	}
	k.mu.Lock()
	k.signers[cur.ID] = s
	k.mu.Unlock()
	return s, cur, nil
}

func (k *Keyring) newSigner(sk *store.SigningKey) (jose.Signer, error) {
	der, err := k.seal.open(sk.ID, sk.PrivateEnc)
	if err != nil {
		return nil, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: parse private key: %w", sk.ID, err)
	}
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(sk.Algorithm),
		Key:       jose.JSONWebKey{Key: priv, KeyID: sk.ID, Algorithm: sk.Algorithm},
	}, (&jose.SignerOptions{}).WithType(TokenType))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	return s, nil
}

// PublicKey returns the published key with kid. The key list is at most
// the reload interval old, so a key another replica just created is found
// within it.
func (k *Keyring) PublicKey(ctx context.Context, kid string) (*jose.JSONWebKey, bool) {
	if _, err := k.Keys(ctx); err != nil {
		return nil, false
	}
	k.mu.Lock()
	jwk, ok := k.public[kid]
	k.mu.Unlock()
	return jwk, ok
}

// JWKS returns the public keys of every key still published.
func (k *Keyring) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, err := k.Keys(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, sk := range keys {
		if jwk, ok := k.public[sk.ID]; ok {
			set.Keys = append(set.Keys, *jwk)
		}
	}
	return set, nil
}

// Rotate creates a key of the configured algorithm, which signs from now
// on, and retires every older key still unretired. Retired keys stay
// published until Prune removes them.
func (k *Keyring) Rotate(ctx context.Context) (*store.SigningKey, error) {
	sk, err := k.generate()
	if err != nil {
		return nil, err
	}
	if err := k.st.CreateSigningKey(ctx, sk); err != nil {
		return nil, fmt.Errorf("rotate signing key: %w", err)
	}
	keys, err := k.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("rotate signing key: %w", err)
	}
	now := sk.CreatedAt
	for _, old := range keys {
		if old.ID == sk.ID || old.RetiredAt != nil || old.CreatedAt.After(sk.CreatedAt) {
			continue
		}
		_, err := k.st.UpdateSigningKey(ctx, old.ID, func(x *store.SigningKey) error {
			if x.RetiredAt == nil {
				x.RetiredAt = &now
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("retire signing key %s: %w", old.ID, err)
		}
	}
	if _, err := k.reload(ctx); err != nil {
		return nil, err
	}
	return sk, nil
}

// RotateIfDue rotates when the signing key is at least interval old.
func (k *Keyring) RotateIfDue(ctx context.Context, interval time.Duration) (*store.SigningKey, error) {
	keys, err := k.reload(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 && k.opts.Now().Sub(keys[0].CreatedAt) < interval {
		return nil, nil
	}
	return k.Rotate(ctx)
}

// Prune deletes keys retired longer ago than Retention: no unexpired JWT
// can carry their signature. The signing key is never deleted.
func (k *Keyring) Prune(ctx context.Context) ([]string, error) {
	keys, err := k.reload(ctx)
	if err != nil {
		return nil, err
	}
	cutoff := k.opts.Now().Add(-k.Retention())
	var gone []string
	for i, sk := range keys {
		if i == 0 || sk.RetiredAt == nil || sk.RetiredAt.After(cutoff) {
			continue
		}
		if err := k.st.DeleteSigningKey(ctx, sk.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return gone, fmt.Errorf("prune signing key %s: %w", sk.ID, err)
		}
		gone = append(gone, sk.ID)
	}
	if len(gone) > 0 {
		if _, err := k.reload(ctx); err != nil {
			return gone, err
		}
	}
	return gone, nil
}

// generate makes a new key pair; its kid is the RFC 7638 thumbprint of the
// public key.
func (k *Keyring) generate() (*store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch k.opts.Algorithm {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: k.opts.Algorithm, Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	sealed, err := k.seal.seal(pub.KeyID, der)
	if err != nil {
		return nil, err
	}
	return &store.SigningKey{
		ID: pub.KeyID, Algorithm: k.opts.Algorithm, PublicJWK: pubJSON, PrivateEnc: sealed,
		CreatedAt: k.opts.Now().UTC(),
	}, nil
}
