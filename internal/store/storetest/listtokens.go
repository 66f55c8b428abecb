package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func listTokenTests() []test {
	return []test{
		{"ListTokensPagesNewestFirst", testListTokensPaging},
		{"ListTokensFiltersByKindAndScope", testListTokensKindScope},
		{"ListTokensStateFilterAgreesWithTokenState", testListTokensState},
		{"ListTokensCapsLimit", testListTokensCap},
	}
}

func testListTokensPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	var all, ofA []string
	for i := range 250 {
		owner := a
		if i%3 == 0 {
			owner = b
		}
		tk := mustToken(t, s, owner.ID, fmt.Sprintf("t%03d", i))
		all = append(all, tk.ID)
		if owner == a {
			ofA = append(ofA, tk.ID)
		}
	}
	all, ofA = sortedDesc(all), sortedDesc(ofA)
	for _, limit := range []int{1, 9, 100, 1000} {
		got := pageAll(t, limit, func(cursor string) ([]string, error) {
			return tokenIDs(s.ListTokens(ctx, store.TokenFilter{Cursor: cursor, Limit: limit}))
		})
		sameOrder(t, fmt.Sprintf("ListTokens paged by %d", limit), all, got)
	}
	got := pageAll(t, 10, func(cursor string) ([]string, error) {
		return tokenIDs(s.ListTokens(ctx, store.TokenFilter{UserID: a.ID, Cursor: cursor, Limit: 10}))
	})
	sameOrder(t, "ListTokens of one user", ofA, got)
	for _, limit := range []int{0, -5} {
		page, err := tokenIDs(s.ListTokens(ctx, store.TokenFilter{Limit: limit}))
		noErr(t, "ListTokens", err)
		sameOrder(t, fmt.Sprintf("ListTokens with Limit %d", limit), all[:store.DefaultPageLimit], page)
	}
}

func testListTokensKindScope(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	scopes := map[string][]string{
		"repo":        {"repo"},
		"repo-narrow": {"repo:read", "repo=acme/*"},
		"read":        {"repo:read"},
		"read-narrow": {"repo:read=acme/*"},
		"ssh":         {"admin:ssh_key"},
		"look-alike":  {"admin:sshXkey", "repository", "repo_x"},
		"none":        nil,
	}
	ids := map[string]string{}
	for name, sc := range scopes {
		tk := mustToken(t, s, u.ID, name, func(tk *store.Token) {
			tk.Scopes = sc
			if name == "ssh" || name == "none" {
				tk.Kind = store.TokenAdmin
			}
		})
		ids[name] = tk.ID
	}
	for _, c := range []struct {
		filter store.TokenFilter
		want   []string
	}{
		{store.TokenFilter{Scope: "repo"}, []string{"repo", "repo-narrow"}},
		{store.TokenFilter{Scope: "repo:read"}, []string{"repo-narrow", "read", "read-narrow"}},
		{store.TokenFilter{Scope: "admin:ssh_key"}, []string{"ssh"}},
		{store.TokenFilter{Scope: "admin"}, nil},
		{store.TokenFilter{Kind: store.TokenAdmin}, []string{"ssh", "none"}},
		{store.TokenFilter{Kind: store.TokenAdmin, Scope: "admin:ssh_key", UserID: u.ID}, []string{"ssh"}},
		{store.TokenFilter{Kind: store.TokenPersonal, Scope: "admin:ssh_key"}, nil},
	} {
		var want []string
		for _, n := range c.want {
			want = append(want, ids[n])
		}
		got, err := tokenIDs(s.ListTokens(ctx, c.filter))
		noErr(t, "ListTokens", err)
		sameOrder(t, fmt.Sprintf("ListTokens(%+v)", c.filter), sortedDesc(want), got)
	}
}

func testListTokensState(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	now := base // in zone, with nanoseconds
	w := store.ExpiringWindow
	// Expiry times around every boundary of Token.State, at the stored
	// microsecond precision.
	cases := map[string]func(*store.Token){
		"no-expiry":         func(tk *store.Token) { tk.ExpiresAt = nil },
		"far":               func(tk *store.Token) { tk.ExpiresAt = ptr(now.Add(365 * 24 * time.Hour)) },
		"window+1us":        func(tk *store.Token) { tk.ExpiresAt = ptr(micro(now).Add(w + time.Microsecond)) },
		"window-exact":      func(tk *store.Token) { tk.ExpiresAt = ptr(micro(now).Add(w)) },
		"soon":              func(tk *store.Token) { tk.ExpiresAt = ptr(now.Add(time.Hour)) },
		"now+1us":           func(tk *store.Token) { tk.ExpiresAt = ptr(micro(now).Add(time.Microsecond)) },
		"now-exact":         func(tk *store.Token) { tk.ExpiresAt = ptr(micro(now)) },
		"past":              func(tk *store.Token) { tk.ExpiresAt = ptr(now.Add(-time.Hour)) },
		"revoked":           func(tk *store.Token) { tk.RevokedAt = ptr(now.Add(-time.Minute)) },
		"revoked-expired":   func(tk *store.Token) { tk.RevokedAt, tk.ExpiresAt = ptr(now), ptr(now.Add(-time.Hour)) },
		"revoked-no-expiry": func(tk *store.Token) { tk.RevokedAt, tk.ExpiresAt = ptr(now), nil },
		"revoked-in-future": func(tk *store.Token) { tk.RevokedAt = ptr(now.Add(time.Hour)) },
		"expiring-revoked":  func(tk *store.Token) { tk.RevokedAt, tk.ExpiresAt = ptr(now), ptr(now.Add(time.Hour)) },
		"active-other-zone": func(tk *store.Token) {
			tk.ExpiresAt = ptr(now.Add(30 * 24 * time.Hour).In(time.FixedZone("X", -11*3600)))
		},
		"expired-other-zone": func(tk *store.Token) { tk.ExpiresAt = ptr(now.Add(-time.Second).In(time.UTC)) },
	}
	var toks []*store.Token
	for name, mod := range cases {
		toks = append(toks, mustToken(t, s, u.ID, name, mod))
	}
	for _, at := range []time.Time{now, now.In(time.UTC), now.Add(w), now.Add(-time.Hour)} {
		seen := 0
		for _, state := range []store.TokenState{store.StateActive, store.StateExpiring, store.StateExpired, store.StateRevoked} {
			var want []string
			for _, tk := range toks {
				if tk.State(at) == state {
					want = append(want, tk.ID)
				}
			}
			got, err := tokenIDs(s.ListTokens(ctx, store.TokenFilter{State: state, Now: at}))
			noErr(t, "ListTokens", err)
			sameOrder(t, fmt.Sprintf("ListTokens(State %s, Now %s)", state, at), sortedDesc(want), got)
			seen += len(got)
		}
		if seen != len(toks) {
			t.Fatalf("states at %s cover %d tokens, want %d", at, seen, len(toks))
		}
	}
	// Sanity: the matrix exercises every state at base.
	var states []store.TokenState
	for _, tk := range toks {
		states = append(states, tk.State(now))
	}
	for _, st := range []store.TokenState{store.StateActive, store.StateExpiring, store.StateExpired, store.StateRevoked} {
		if !slices.Contains(states, st) {
			t.Fatalf("no token in state %s", st)
		}
	}
}

func testListTokensCap(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	ts := make([]*store.Token, store.MaxPageLimit+1)
	for i := range ts {
		ts[i] = newToken(u.ID, fmt.Sprintf("t%04d", i))
	}
	noErr(t, "CreateTokens", s.CreateTokens(ctx, ts))
	got, err := s.ListTokens(ctx, store.TokenFilter{Limit: 5000})
	noErr(t, "ListTokens", err)
	if len(got) != store.MaxPageLimit {
		t.Fatalf("ListTokens with Limit 5000 returned %d, want the cap %d", len(got), store.MaxPageLimit)
	}
}
