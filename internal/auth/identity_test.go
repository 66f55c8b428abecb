package auth_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Identity sets its headers by map assignment, which skips
// canonicalisation: a name that is not canonical would never be read back.
func TestIdentityHeaderNamesAreCanonical(t *testing.T) {
	for _, k := range []string{auth.HeaderUser, auth.HeaderUserID, auth.HeaderTokenID, auth.HeaderTokenKind,
		auth.HeaderScopes, auth.HeaderExpiration} {
		if c := http.CanonicalHeaderKey(k); c != k {
			t.Errorf("%q is not canonical (%q)", k, c)
		}
	}
}

func TestIdentityIsThePrincipalAsText(t *testing.T) {
	scopes, err := scope.DefaultCatalog().ParseSet([]string{"repo:read=acme/*", "job"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2027, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	user := &store.User{ID: "u1", Username: "alice"}
	for _, tc := range []struct {
		name string
		p    *auth.Principal
		want http.Header
	}{
		{"token with expiry", &auth.Principal{User: user, Token: &store.Token{ID: "t1"}, Kind: token.Personal, Scopes: scopes, ExpiresAt: &exp},
			http.Header{"X-Latchkey-User": {"alice"}, "X-Latchkey-User-Id": {"u1"}, "X-Latchkey-Token-Id": {"t1"},
				"X-Latchkey-Token-Kind": {"pat"}, "X-Latchkey-Scopes": {"job repo:read=acme/*"},
				"Latchkey-Token-Expiration": {"2027-03-04T04:06:07Z"}}},
		{"session without scopes or expiry", &auth.Principal{User: user, Session: &store.Session{ID: "s1"}, Kind: token.Session},
			http.Header{"X-Latchkey-User": {"alice"}, "X-Latchkey-User-Id": {"u1"}, "X-Latchkey-Token-Id": {"s1"},
				"X-Latchkey-Token-Kind": {"ses"}, "X-Latchkey-Scopes": {""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			tc.p.Identity().SetHeaders(h)
			tc.p.Identity().SetExpiration(h)
			if !equalHeaders(h, tc.want) {
				t.Errorf("headers %q, want %q", h, tc.want)
			}
			if tc.p.Identity() != tc.p.Identity() {
				t.Error("Identity is built again on every call")
			}
			if list := tc.p.Identity().ScopeList(); list == nil || !slices.Equal(list, tc.p.Scopes.Strings()) {
				t.Errorf("ScopeList = %#v, want %#v (never nil)", list, tc.p.Scopes.Strings())
			}
		})
	}
}

// The header values are shared between the requests of one Principal: a
// handler adding to a header afterwards must not change what the next
// request gets.
func TestIdentityHeaderValuesSurviveChangesToOneAnswer(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &auth.Principal{User: &store.User{ID: "u1", Username: "alice"}, Token: &store.Token{ID: "t1"}, Kind: token.Personal, ExpiresAt: &exp}
	answer := func() http.Header {
		h := http.Header{}
		p.Identity().SetHeaders(h)
		p.Identity().SetExpiration(h)
		return h
	}
	want := answer().Clone() // its own copy of the values
	first := answer()
	for k := range first {
		first.Add(k, "mallory")
	}
	if next := answer(); !equalHeaders(next, want) {
		t.Errorf("after adding to one answer, the next is %q, want %q", next, want)
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
