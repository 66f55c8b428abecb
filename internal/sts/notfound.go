package sts

import (
	"net/http"
	"strings"
)

// MountNotFound answers every other /oauth2/ request as RFC 6749 §5.2
// JSON, as OAuth clients read errors: 404 naming the endpoints there are.
// (The endpoints answer other methods themselves, with 405 and Allow.)
func MountNotFound(mux *http.ServeMux) {
	mux.HandleFunc("/oauth2/", func(w http.ResponseWriter, r *http.Request) {
		paths := []string{TokenPath, IntrospectPath, DeviceAuthorizationPath}
		writeOAuthError(w, &oauthError{http.StatusNotFound, "invalid_request", "no OAuth endpoint " +
			printableShort(r.URL.Path) + "; this server has " + strings.Join(paths, ", ") + " (see " + MetadataPath + "); revoke a token with DELETE /api/v1/tokens/{id}"})
	})
}

// printableShort is s cut to 80 bytes with control characters replaced,
// to name a path in an answer.
func printableShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
