package auth

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// Credential extracts a secret from the Authorization header: "Bearer <t>",
// "token <t>" or HTTP Basic with the token as the password. For Basic it
// also returns the user name given. Credentials are never read from a URL.
func Credential(h http.Header) (secret, basicUser string, ok bool) {
	v := h.Get("Authorization")
	if v == "" {
		return "", "", false
	}
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
