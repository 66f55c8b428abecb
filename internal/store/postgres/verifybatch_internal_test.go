package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// TestVerificationLookupsQueuedTogetherShareOneRead queues lookups while no
// reader runs, then starts one: they are answered by one statement per 64
// digests, and each gets its own answer: its token by the current or the
// previous digest, not found for a digest nobody has, and a copy of its own
// when two ask for the same token.
func TestVerificationLookupsQueuedTogetherShareOneRead(t *testing.T) {
	ctx := t.Context()
	s := openInternal(t)
	u := internalUser(t, s, "alice")
	now := time.Now().UTC().Truncate(time.Microsecond)
	var toks []*store.Token
	for i := range 90 {
		tok := internalToken(u.ID, "t"+string(rune('A'+i/26))+string(rune('a'+i%26)), now)
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	// The first token was regenerated: its previous secret still works.
	prev := make([]byte, 32)
	_, _ = rand.Read(prev)
	if _, err := s.pool.Exec(ctx, `UPDATE tokens SET prev_digest = $1, prev_expires_at = $2 WHERE id = $3`,
		prev, now.Add(time.Hour), toks[0].ID); err != nil {
		t.Fatal(err)
	}
	unknown := make([]byte, 32)
	_, _ = rand.Read(unknown)

	type ask struct {
		digest []byte
		want   string // token id, "" for not found
	}
	var asks []ask
	for _, tok := range toks {
		asks = append(asks, ask{tok.Digest, tok.ID})
	}
	asks = append(asks, ask{prev, toks[0].ID}, ask{unknown, ""}, ask{toks[5].Digest, toks[5].ID}, ask{toks[5].Digest, toks[5].ID})

	v := newVerifyReaders(s.pool)
	defer v.stop()
	type answer struct {
		tok *store.Token
		own *store.User
		err error
	}
	answers := make([]answer, len(asks))
	var wg sync.WaitGroup
	for i, a := range asks {
		wg.Go(func() {
			tok, own, err := v.lookup(ctx, a.digest)
			answers[i] = answer{tok, own, err}
		})
	}
	for len(v.queue) < len(asks) {
		time.Sleep(time.Millisecond)
	}
	v.start(1)
	wg.Wait()

	if got, want := v.reads.Load(), int64((len(asks)+maxVerifyBatch-1)/maxVerifyBatch); got != want {
		t.Errorf("%d lookups queued together took %d statements, want %d", len(asks), got, want)
	}
	seen := map[*store.Token]bool{}
	for i, a := range asks {
		got := answers[i]
		if a.want == "" {
			if !errors.Is(got.err, store.ErrNotFound) {
				t.Errorf("unknown digest: %v, %v; want not found", got.tok, got.err)
			}
			continue
		}
		if got.err != nil || got.tok == nil || got.tok.ID != a.want {
			t.Errorf("lookup %d: %+v, want token %s", i, got, a.want)
			continue
		}
		if got.own == nil || got.own.Username != "alice" {
			t.Errorf("lookup %d: owner %+v, want alice", i, got.own)
		}
		if seen[got.tok] {
			t.Errorf("lookup %d shares its token with another lookup", i)
		}
		seen[got.tok] = true
	}
	if a := answers[len(toks)]; a.tok != nil && string(a.tok.PrevDigest) != string(prev) {
		t.Errorf("by the previous digest: prev_digest %x, want %x", a.tok.PrevDigest, prev)
	}
}

// TestVerificationLookupEndsWithItsContextAndTheStore checks that a lookup
// does not outwait its caller or the store: a cancelled caller gets its
// context's error, and a lookup after Close gets ErrUnavailable.
func TestVerificationLookupEndsWithItsContextAndTheStore(t *testing.T) {
	s := openInternal(t)
	d := make([]byte, 32)
	t.Run("caller gone", func(t *testing.T) {
		v := newVerifyReaders(s.pool) // no reader: the lookup waits in the queue
		defer v.stop()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, _, err := v.lookup(ctx, d); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's deadline", err)
		}
	})
	t.Run("store closed", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), d); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}
