package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// TestFirstUseOfATokenIsWrittenOnItsPage pins why the tokens table keeps
// free space on its pages (migration 8): the usage flush's update of a
// token's row (last use, address, agent, recent addresses) fits on the
// page the row is on, so PostgreSQL writes it there without new index
// entries, instead of moving the row and adding to every index. The row's
// block, from its ctid, is the same before and after; on a page filled to
// the brim it would move.
func TestFirstUseOfATokenIsWrittenOnItsPage(t *testing.T) {
	ctx := t.Context()
	s := openInternal(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := internalUser(t, s, "pages")
	ts := make([]*store.Token, 400) // several pages, the first ones full
	for i := range ts {
		ts[i] = internalToken(u.ID, fmt.Sprintf("token-%04d", i), now)
	}
	if err := s.CreateTokens(ctx, ts); err != nil {
		t.Fatal(err)
	}
	block := func(id string) string {
		t.Helper()
		var ctid string
		if err := s.pool.QueryRow(ctx, `SELECT (ctid::text::point)[0]::text FROM tokens WHERE id = $1`, id).Scan(&ctid); err != nil {
			t.Fatal(err)
		}
		return ctid
	}
	first := ts[0].ID // on the first page, which the inserts filled
	before := block(first)
	use := store.TokenUse{TokenID: first, At: now, IP: "203.0.113.7", Agent: "git/2.47.0 (linux) some-long-agent-string",
		IPs: []string{"203.0.113.7", "198.51.100.23", "2001:db8::1"}, Counts: map[string]int64{now.Format(time.DateOnly): 3}}
	if err := s.RecordTokenUse(ctx, []store.TokenUse{use}); err != nil {
		t.Fatal(err)
	}
	if after := block(first); after != before {
		t.Errorf("the first use moved the token's row from block %s to %s: its page had no room for the update (tokens fillfactor)", before, after)
	}
}
