package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// TokenQuery filters a token listing.
type TokenQuery struct {
	UserID string // a user's tokens (admins, or yourself)
	All    bool   // every token in the organisation (admins)
	State  string
	Scope  string
	Kind   string
	Cursor string
	Limit  int
}

// List returns a page of tokens, newest first, and the cursor of the next page.
func (s *Tokens) List(ctx context.Context, a Actor, q TokenQuery) ([]*store.Token, string, error) {
	if err := a.requireTokens(); err != nil {
		return nil, "", err
	}
	f, err := s.listFilter(ctx, a, q)
	if err != nil {
		return nil, "", err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	if q.Cursor != "" {
		id, err := decodeCursor(q.Cursor)
		if err != nil || uuid.Validate(id) != nil {
			return nil, "", invalid("cursor", "cursor %q is not valid; pass the next_cursor value of the previous page unchanged", q.Cursor)
		}
		f.Cursor = id
	}
	var ts []*store.Token
	if p := s.policies.Current(ctx); LifetimeCap(true, p) > 0 && f.State != "" && f.State != store.StateRevoked {
		ts, err = s.listCapped(ctx, f, limit+1, p)
	} else {
		f.Limit = limit + 1
		ts, err = s.store.ListTokens(ctx, f)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	next := ""
	if len(ts) > limit {
		ts = ts[:limit]
		next = encodeCursor(ts[limit-1].ID)
	}
	return ts, next, nil
}

// listFilter checks who may list what and turns the query's filters into
// the store's.
func (s *Tokens) listFilter(ctx context.Context, a Actor, q TokenQuery) (store.TokenFilter, error) {
	f := store.TokenFilter{UserID: a.User.ID, Now: s.now().UTC()}
	switch {
	case q.All && q.UserID == "":
		if !a.IsAdmin() {
			return f, a.notAdmin("list every token in the organisation")
		}
		f.UserID = ""
	case q.UserID != "" && q.UserID != a.User.ID && !strings.EqualFold(q.UserID, a.User.Username):
		if !a.IsAdmin() {
			return f, a.notAdmin("list another user's tokens")
		}
		u, err := lookupUser(ctx, s.store, q.UserID)
		if err != nil {
			return f, err
		}
		f.UserID = u.ID
	}
	switch store.TokenState(q.State) {
	case "", store.StateActive, store.StateExpiring, store.StateExpired, store.StateRevoked:
		f.State = store.TokenState(q.State)
	default:
		return f, invalid("state", "state must be one of active, expiring, expired, revoked; got %q", q.State)
	}
	switch store.TokenKind(q.Kind) {
	case "", store.TokenPersonal, store.TokenAdmin, store.TokenFederated:
		f.Kind = store.TokenKind(q.Kind)
	default:
		return f, invalid("kind", "kind must be pat, adm or fed; got %q", q.Kind)
	}
	if q.Scope != "" {
		if _, ok := s.catalog.Lookup(q.Scope); !ok {
			return f, invalid("scope", "unknown scope %q; see GET /api/v1/scopes for the catalog", q.Scope)
		}
		f.Scope = q.Scope
	}
	return f, nil
}

// capScanBatch is how many tokens listCapped reads from the store at a time.
const capScanBatch = 200

// listCapped lists by state while a maximum lifetime caps tokens at use
// time. The store evaluates state from stored expiries only, so it cannot
// see the cap (it holds no policy); the state is evaluated here instead, on
// batches read in order, until n tokens match or the store has no more. The
// cap only ever shortens a lifetime, so an effectively active token is also
// active by its stored expiry, and that narrower query is used for it.
func (s *Tokens) listCapped(ctx context.Context, f store.TokenFilter, n int, p store.Policy) ([]*store.Token, error) {
	want := f.State
	f.State = ""
	if want == store.StateActive {
		f.State = store.StateActive
	}
	f.Limit = max(n, capScanBatch)
	var out []*store.Token
	for {
		batch, err := s.store.ListTokens(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, t := range batch {
			if EffectiveState(t, p, f.Now) == want {
				out = append(out, t)
				if len(out) == n {
					return out, nil
				}
			}
		}
		if len(batch) < f.Limit {
			return out, nil
		}
		f.Cursor = batch[len(batch)-1].ID
	}
}

// EffectiveState is a token's state at now with the policy's cap applied.
func EffectiveState(t *store.Token, p store.Policy, now time.Time) store.TokenState {
	eff := *t
	eff.ExpiresAt = EffectiveExpiry(t, p)
	return eff.State(now)
}
