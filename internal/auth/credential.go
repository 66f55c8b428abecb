package auth

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Credential extracts a secret from the Authorization header: "Bearer <t>",
// "token <t>" or HTTP Basic with the token as the password. For Basic it
// also returns the user name given. Credentials are never read from a URL.
// A request with two Authorization headers has none: which one names the
// caller is ambiguous (an upstream or a framework may read the other), so
// it is refused rather than judged on the first.
func Credential(h http.Header) (secret, basicUser string, ok bool) {
	vs := h["Authorization"]
	if len(vs) != 1 || vs[0] == "" {
		return "", "", false
	}
	v := vs[0]
	scheme, rest, found := strings.Cut(v, " ")
	if !found {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer"), strings.EqualFold(scheme, "token"):
		return rest, "", rest != ""
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", "", false
		}
		user, pass, found := strings.Cut(string(raw), ":")
		if !found || pass == "" {
			return "", "", false
		}
		return pass, user, true
	}
	return "", "", false
}

// ClientCredential is Credential for the OAuth 2 endpoints: a Basic user
// name and password are form-urlencoded before base64 (RFC 6749 §2.3.1),
// so they are decoded here ("%5F" is "_", "+" is a space).
func ClientCredential(h http.Header) (secret, clientID string, ok bool) {
	secret, clientID, ok = Credential(h)
	if !ok || !IsBasic(h) {
		return secret, clientID, ok
	}
	id, err1 := url.QueryUnescape(clientID)
	pass, err2 := url.QueryUnescape(secret)
	if err1 != nil || err2 != nil || pass == "" {
		return "", "", false
	}
	return pass, id, true
}

// CredentialNotUnderstood is the reason given when an Authorization header
// is present but Credential reads no secret from it.
const CredentialNotUnderstood = `the Authorization header is not understood: send exactly one Authorization header, "Bearer <token>", "token <token>" or Basic credentials with the token as password`

// BasicUserMismatch is the reason given when Basic credentials carry a
// user name that is not the token owner's and the server requires it to be
// (--basic-auth-username-must-match).
const BasicUserMismatch = "the user name does not match the token's owner: use your Latchkey user name with the token as password"

// IsBasic reports whether the Authorization header uses the Basic scheme.
func IsBasic(h http.Header) bool {
	scheme, _, _ := strings.Cut(h.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Basic")
}
