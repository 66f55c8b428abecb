package auth

import (
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
)

// The identity headers: what a protected service learns about the caller
// from forward-auth and the reverse proxy, and when the credential expires,
// which every answer to a request authenticated by an expiring credential
// tells. The names are canonical (http.CanonicalHeaderKey), so Identity
// sets them by map assignment.
const (
	HeaderUser       = "X-Latchkey-User"       // the owner's user name
	HeaderUserID     = "X-Latchkey-User-Id"    // the owner's id
	HeaderTokenID    = "X-Latchkey-Token-Id"   // the id of the token (or session) used
	HeaderTokenKind  = "X-Latchkey-Token-Kind" // pat, adm or ses
	HeaderScopes     = "X-Latchkey-Scopes"     // effective grants, space-separated, e.g. "repo:read=acme/*"
	HeaderExpiration = "Latchkey-Token-Expiration"
)

// Identity is a Principal in the text forms answers carry it in: header
// values, the scope list, the expiry in RFC 3339. Principal.Identity builds
// it once per Principal, and the cache hands out one Principal per prepared
// token, so a cached request formats nothing. It is immutable: a change to
// the token or its owner drops the prepared token, and the next request
// gets a new Principal with a new Identity.
type Identity struct {
	text *scopeText // the effective grants

	// values holds the header values; the header maps get one-element
	// slices of it (capacity one, so an Add elsewhere copies).
	values [6]string
}

// ScopeList are the effective grants, canonical, one a string; never nil.
// Shared by every request of the Principal and every Principal with the
// same grants: read-only.
func (id *Identity) ScopeList() []string { return id.text.list }

// Scopes are the effective grants, canonical, space-separated.
func (id *Identity) Scopes() string { return id.values[valScopes] }

// Expiration is when the credential stops working, RFC 3339 in UTC; ""
// when it never does.
func (id *Identity) Expiration() string { return id.values[valExpiration] }

// Indexes of Identity.values.
const (
	valUser = iota
	valUserID
	valTokenID
	valTokenKind
	valScopes
	valExpiration
)

// Identity returns p's text forms, built on first use. Concurrent first
// uses may each build one; they are equal and either is kept.
func (p *Principal) Identity() *Identity {
	if id := p.identity.Load(); id != nil {
		return id
	}
	id := newIdentity(p)
	p.identity.Store(id)
	return id
}

func newIdentity(p *Principal) *Identity {
	id := new(Identity)
	id.fill(p, nil)
	return id
}

// fill sets id to p's text forms. text, when not nil, is p.Scopes's,
// computed once for every credential with the same effective scopes.
func (id *Identity) fill(p *Principal, text *scopeText) {
	if text == nil {
		text = newScopeText(p.Scopes)
	}
	id.text = text
	var expiration string
	if p.ExpiresAt != nil {
		expiration = p.ExpiresAt.UTC().Format(time.RFC3339)
	}
	var username, userID string
	if p.User != nil {
		username, userID = p.User.Username, p.User.ID
	}
	id.values = [6]string{
		valUser: username, valUserID: userID, valTokenID: p.CredentialID(), valTokenKind: string(p.Kind),
		valScopes: text.joined, valExpiration: expiration,
	}
}

// scopeText is a scope set's text forms, as an Identity carries them.
// Read-only once made: the cache's entries of tokens with the same
// effective scopes share one.
type scopeText struct {
	list   []string // never nil
	joined string
}

func newScopeText(s scope.Set) *scopeText {
	t := &scopeText{list: s.Strings()}
	if t.list == nil {
		t.list = []string{}
	}
	t.joined = strings.Join(t.list, " ")
	return t
}

// value returns values[i] as a header value slice of capacity one.
func (id *Identity) value(i int) []string { return id.values[i : i+1 : i+1] }

// SetHeaders sets the identity headers (HeaderUser, HeaderUserID,
// HeaderTokenID, HeaderTokenKind, HeaderScopes) in h, replacing any value
// of the same name. The values are shared with other requests: h may be
// changed afterwards (Set, Add, Del), its value slices not written in
// place.
func (id *Identity) SetHeaders(h http.Header) {
	h[HeaderUser] = id.value(valUser)
	h[HeaderUserID] = id.value(valUserID)
	h[HeaderTokenID] = id.value(valTokenID)
	h[HeaderTokenKind] = id.value(valTokenKind)
	h[HeaderScopes] = id.value(valScopes)
}

// SetExpiration sets HeaderExpiration in h when the credential expires, as
// every answer to a request it authenticated does. Like SetHeaders, the
// value is shared.
func (id *Identity) SetExpiration(h http.Header) {
	if id.Expiration() != "" {
		h[HeaderExpiration] = id.value(valExpiration)
	}
}
