package sts_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/sts"
	"github.com/latchkey/latchkey/internal/testenv"
)

func TestRotationKeepsOldJWTsVerifiableUntilTheKeyLeavesTheJWKS(t *testing.T) {
	eachBackend(t, checkRotation)
}

func checkRotation(t *testing.T, s *servertest.Server) {
	admin := s.AdminSession(t)
	pat := patFor(t, s, admin, "rotate", []string{"repo"})
	watcher := patFor(t, s, admin, "watcher", []string{"introspect"})
	old := exchange(t, s, pat.Secret)["access_token"].(string)
	oldKid := kidOf(t, old)

	// Rotate as `latchkey keys rotate` does: on the store, while the server runs.
	ctx := context.Background()
	ring, err := sts.NewKeyring(s.App.Store, sts.KeyringOptions{Secret: []byte(testSecret), JWTLifetime: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	next, err := ring.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var fresh string
	eventually(t, "the server to sign with the new key", func() bool {
		fresh = exchange(t, s, pat.Secret)["access_token"].(string)
		return kidOf(t, fresh) == next.ID
	})

	keys := fetchJWKS(t, s)
	if len(keys) != 2 || keys[oldKid] == nil || keys[next.ID] == nil {
		t.Fatalf("JWKS after rotation has %d keys, want the old %s and the new %s", len(keys), oldKid, next.ID)
	}
	for name, raw := range map[string]string{"old": old, "new": fresh} {
		if _, _, err := verifyIndependently(raw, keys, s.URL, s.URL); err != nil {
			t.Fatalf("%s JWT after rotation: %v", name, err)
		}
		if ans := introspect(t, s, watcher.Secret, raw); ans["active"] != true {
			t.Fatalf("%s JWT introspects inactive after rotation: %v", name, ans)
		}
	}

	// Once the old key has been retired longer than the JWT lifetime plus
	// the margin, pruning takes it out of the JWKS.
	later, err := sts.NewKeyring(s.App.Store, sts.KeyringOptions{Secret: []byte(testSecret), JWTLifetime: 15 * time.Minute,
		Now: func() time.Time { return time.Now().Add(15*time.Minute + sts.RetentionMargin + time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := later.Prune(ctx)
	if err != nil || len(gone) != 1 || gone[0] != oldKid {
		t.Fatalf("prune removed %v (err %v), want [%s]", gone, err, oldKid)
	}
	eventually(t, "the old key to leave the JWKS", func() bool { return len(fetchJWKS(t, s)) == 1 })
	keys = fetchJWKS(t, s)
	if _, _, err := verifyIndependently(old, keys, s.URL, s.URL); err == nil {
		t.Fatal("a JWT of a pruned key still verifies")
	}
	if _, _, err := verifyIndependently(fresh, keys, s.URL, s.URL); err != nil {
		t.Fatalf("new JWT after prune: %v", err)
	}
	if ans := introspect(t, s, watcher.Secret, old); ans["active"] != false {
		t.Fatalf("a JWT of a pruned key introspects %v", ans)
	}
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// openStore opens a fresh SQLite store for keyring tests.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRotationScheduleRotatesWhenDueAndPrunesAfterRetention(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	ring, err := sts.NewKeyring(st, sts.KeyringOptions{Secret: []byte(testSecret), JWTLifetime: 15 * time.Minute, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first := mustKeys(t, ring)[0]
	interval := 30 * 24 * time.Hour

	c.t = c.t.Add(interval - time.Hour)
	if k, err := ring.RotateIfDue(ctx, interval); err != nil || k != nil {
		t.Fatalf("rotated %v before the interval (err %v)", k, err)
	}
	c.t = c.t.Add(time.Hour)
	second, err := ring.RotateIfDue(ctx, interval)
	if err != nil || second == nil {
		t.Fatalf("did not rotate when due: %v", err)
	}
	keys := mustKeys(t, ring)
	if len(keys) != 2 || keys[0].ID != second.ID || keys[1].ID != first.ID || keys[1].RetiredAt == nil || !keys[1].RetiredAt.Equal(c.t) {
		t.Fatalf("after rotation: %+v", keys)
	}
	if _, signing, _ := ring.Signer(ctx); signing.ID != second.ID {
		t.Fatalf("signing with %s, want the new %s", signing.ID, second.ID)
	}

	c.t = c.t.Add(ring.Retention() - time.Second)
	if gone, _ := ring.Prune(ctx); len(gone) != 0 {
		t.Fatalf("pruned %v within the retention", gone)
	}
	c.t = c.t.Add(2 * time.Second)
	if gone, _ := ring.Prune(ctx); len(gone) != 1 || gone[0] != first.ID {
		t.Fatalf("pruned %v, want the retired %s", gone, first.ID)
	}
	// The signing key is never pruned, however old.
	c.t = c.t.Add(365 * 24 * time.Hour)
	if gone, _ := ring.Prune(ctx); len(gone) != 0 || len(mustKeys(t, ring)) != 1 {
		t.Fatalf("pruned the signing key: %v", gone)
	}
}

func mustKeys(t *testing.T, ring *sts.Keyring) []*store.SigningKey {
	t.Helper()
	keys, err := ring.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestPrivateKeysAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ring, err := sts.NewKeyring(st, sts.KeyringOptions{Secret: []byte(testSecret), Algorithm: sts.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	stored, err := st.ListSigningKeys(ctx)
	if err != nil || len(stored) != 1 {
		t.Fatalf("keys %v, err %v", stored, err)
	}
	k := stored[0]
	if k.Algorithm != sts.EdDSA || bytes.Contains(k.PublicJWK, []byte(`"d"`)) {
		t.Fatalf("stored key: alg %s, public %s", k.Algorithm, k.PublicJWK)
	}
	if _, err := x509.ParsePKCS8PrivateKey(k.PrivateEnc); err == nil {
		t.Fatal("the private key is stored in the clear")
	}

	wrong, err := sts.NewKeyring(st, sts.KeyringOptions{Secret: []byte("another-secret-of-enough-length"), Algorithm: sts.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.Ensure(ctx)
	if err == nil || !strings.Contains(err.Error(), "does not decrypt with the configured signing-key secret") {
		t.Fatalf("a wrong secret: %v", err)
	}
	// Rotating with the new secret is the way out, as the message says.
	if _, err := wrong.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := wrong.Ensure(ctx); err != nil {
		t.Fatalf("after rotating with the new secret: %v", err)
	}
}

func TestChangingTheAlgorithmRotates(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	for i, alg := range []string{sts.ES256, sts.ES256, sts.EdDSA} {
		ring, err := sts.NewKeyring(st, sts.KeyringOptions{Secret: []byte(testSecret), Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		if err := ring.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		keys := mustKeys(t, ring)
		if want := []int{1, 1, 2}[i]; len(keys) != want || keys[0].Algorithm != alg {
			t.Fatalf("start %d with %s: %d keys, newest %s", i, alg, len(keys), keys[0].Algorithm)
		}
	}
}

func TestSecretIsGeneratedOnceIntoTheDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, source, path, err := sts.ResolveSecret("", dir)
	if err != nil || source != sts.SecretGenerated || len(first) < 32 {
		t.Fatalf("first start: %q %s %v", first, source, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file %s: %v %v", path, info.Mode(), err)
	}
	again, source, _, err := sts.ResolveSecret("", dir)
	if err != nil || source != sts.SecretFile || !bytes.Equal(again, first) {
		t.Fatalf("second start: %s %v", source, err)
	}
	if got, source, _, _ := sts.ResolveSecret("configured-secret-value", dir); string(got) != "configured-secret-value" || source != sts.SecretConfigured {
		t.Fatalf("a configured secret must win: %q %s", got, source)
	}
	if _, _, _, err := sts.ResolveSecret("", ""); !errors.Is(err, sts.ErrNoSecret) {
		t.Fatalf("without secret or data directory (PostgreSQL): %v", err)
	}
}

func TestServerGeneratesTheSecretAndKeepsItsKeyAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	var kids []string
	for i := range 2 {
		// No --signing-key-secret: the first start generates one.
		s := servertest.Start(t, "--data-dir", dir)
		pat := patFor(t, s, s.AdminSession(t), fmt.Sprintf("restart-%d", i), []string{"repo"})
		kids = append(kids, kidOf(t, exchange(t, s, pat.Secret)["access_token"].(string)))
	}
	if kids[0] != kids[1] {
		t.Fatalf("the signing key changed across a restart: %v", kids)
	}
	if _, err := os.Stat(filepath.Join(dir, sts.SecretFileName)); err != nil {
		t.Fatalf("no generated secret file: %v", err)
	}
}

func TestOnPostgreSQLWithoutASecretExchangeIsOffAndSaysHowToTurnItOn(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	s := servertest.StartPostgres(t, dsn)
	status, out := post(t, s, sts.TokenPath, exchangeForm("lk_pat_x"), "")
	desc, _ := out["error_description"].(string)
	if status != 503 || !strings.Contains(desc, "LATCHKEY_SIGNING_KEY_SECRET") {
		t.Fatalf("exchange without a secret: %d %v", status, out)
	}
	if keys := fetchJWKS(t, s); len(keys) != 0 {
		t.Fatalf("JWKS without a secret: %v", keys)
	}
}
