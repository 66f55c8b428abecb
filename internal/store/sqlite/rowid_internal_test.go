package sqlite

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// rowidOf returns the rowid token id is stored at.
func rowidOf(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	var rowid int64
	if err := s.r.QueryRowContext(t.Context(), `SELECT rowid FROM tokens WHERE id = ?`, id).Scan(&rowid); err != nil {
		t.Fatalf("rowid of %s: %v", id, err)
	}
	return rowid
}

// withPrefix returns a random 32-byte digest that starts with p's first
// eight bytes: the same rowid as p.
func withPrefix(p []byte) []byte {
	d := make([]byte, 32)
	rand.Read(d)
	copy(d, p[:8])
	return d
}

// verifiesAs checks that digest verifies as the token with id.
func verifiesAs(t *testing.T, s *Store, digest []byte, id string) {
	t.Helper()
	got, owner, err := s.GetTokenAndOwnerByDigest(t.Context(), digest)
	if err != nil {
		t.Fatalf("verify %x…: %v, want token %s", digest[:8], err, id)
	}
	if got.ID != id || owner == nil || owner.ID != got.UserID {
		t.Fatalf("verify %x…: token %s (owner %v), want %s with its owner", digest[:8], got.ID, owner, id)
	}
}

// TestTokensAreFoundAtTheirDigestsRowid: a created token is stored at its
// digest's rowid, one by one or in a batch; a token whose rowid another
// already had (in the table or earlier in its batch) is stored elsewhere
// and verifies all the same, and a digest that shares only a token's rowid
// verifies as nothing.
func TestTokensAreFoundAtTheirDigestsRowid(t *testing.T) {
	s := openTest(t, options{})
	u := testUser(t, s)
	one, two := testToken(u.ID, "one"), testToken(u.ID, "two")
	twin := testToken(u.ID, "twin") // in two's batch, with two's rowid
	twin.Digest = withPrefix(two.Digest)
	if err := s.CreateToken(t.Context(), one); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTokens(t.Context(), []*store.Token{two, twin}); err != nil {
		t.Fatal(err)
	}
	late := testToken(u.ID, "late") // created alone, with one's rowid
	late.Digest = withPrefix(one.Digest)
	if err := s.CreateToken(t.Context(), late); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []*store.Token{one, two} {
		if got, want := rowidOf(t, s, tk.ID), digestRowid(tk.Digest).(int64); got != want {
			t.Errorf("token %s is at rowid %d, want its digest's %d", tk.Name, got, want)
		}
	}
	for _, tk := range []*store.Token{twin, late} {
		if got := rowidOf(t, s, tk.ID); got == digestRowid(tk.Digest).(int64) {
			t.Errorf("token %s took rowid %d, which another token already had", tk.Name, got)
		}
	}
	for _, tk := range []*store.Token{one, two, twin, late} {
		verifiesAs(t, s, tk.Digest, tk.ID)
	}
	if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), withPrefix(one.Digest)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a digest with only one's rowid: err = %v, want ErrNotFound", err)
	}
}

// TestRegenerationMovesATokenToItsNewDigestsRowid: a new digest moves the
// row to the new digest's rowid, where the new secret is found while the
// old one still is by the previous digest; when another token has that
// rowid, or the digest does not change, the row stays where it is. A token
// stored elsewhere (as those created before the rule are) verifies too.
func TestRegenerationMovesATokenToItsNewDigestsRowid(t *testing.T) {
	s := openTest(t, options{})
	u := testUser(t, s)
	a, b := testToken(u.ID, "a"), testToken(u.ID, "b")
	if err := s.CreateTokens(t.Context(), []*store.Token{a, b}); err != nil {
		t.Fatal(err)
	}
	regenerate := func(tk *store.Token, digest []byte) {
		t.Helper()
		if _, err := s.UpdateToken(t.Context(), tk.ID, func(x *store.Token) error {
			expires := time.Now().Add(time.Hour)
			x.PrevDigest, x.PrevExpiresAt, x.Digest = x.Digest, &expires, digest
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	old := a.Digest
	fresh := withPrefix(bytes.Repeat([]byte{0x80}, 8)) // a negative rowid
	regenerate(a, fresh)
	if got, want := rowidOf(t, s, a.ID), digestRowid(fresh).(int64); got != want {
		t.Errorf("regenerated token is at rowid %d, want its new digest's %d", got, want)
	}
	verifiesAs(t, s, fresh, a.ID)
	verifiesAs(t, s, old, a.ID)

	before := rowidOf(t, s, b.ID)
	regenerate(b, withPrefix(fresh)) // a has that rowid
	if got := rowidOf(t, s, b.ID); got != before {
		t.Errorf("token b moved from rowid %d to %d, which token a has", before, got)
	}
	verifiesAs(t, s, currentDigest(t, s, b.ID), b.ID)

	if _, err := s.UpdateToken(t.Context(), b.ID, func(x *store.Token) error {
		x.Name = "renamed"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := rowidOf(t, s, b.ID); got != before {
		t.Errorf("a rename moved token b from rowid %d to %d", before, got)
	}

	if _, err := s.w.ExecContext(t.Context(), `UPDATE tokens SET rowid = 7 WHERE id = ?`, a.ID); err != nil {
		t.Fatal(err)
	}
	verifiesAs(t, s, fresh, a.ID)
}

// currentDigest returns the current digest of token id.
func currentDigest(t *testing.T, s *Store, id string) []byte {
	t.Helper()
	tk, err := s.GetToken(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Digest
}

// TestVerificationReadsTheRowAtTheDigestsRowid pins the plan of the first
// verification read: the row by its rowid, no index of the digest.
func TestVerificationReadsTheRowAtTheDigestsRowid(t *testing.T) {
	s := openTest(t, options{})
	joined := strings.Join(explain(t, s, getTokenAndOwnerByRowidSQL, 1, []byte("x")), "; ")
	t.Logf("read by rowid → %s", joined)
	if !strings.Contains(joined, "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)") {
		t.Errorf("the read by rowid plans %q: want the token searched by its rowid", joined)
	}
}
