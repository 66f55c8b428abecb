package sts

import (
	"net/http"
)

// MountDisabled mounts the token-exchange routes of a server that cannot
// sign JWTs (no signing-key secret): the token endpoint says why and how to
// enable it, and the JWKS is honestly empty. The device grant (device may
// be nil) needs no signing key and keeps working.
func MountDisabled(mux *http.ServeMux, reason string, device *Device) {
	mux.HandleFunc(TokenPath, device.Intercept(func(w http.ResponseWriter, r *http.Request) {
		writeOAuthError(w, r, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable",
			"token exchange is not enabled on this server: " + reason})
	}))
	mux.HandleFunc("GET "+JWKSPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}` + "\n"))
	})
}
