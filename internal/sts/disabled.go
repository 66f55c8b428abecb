package sts

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/scope"
)

// Disabled serves the token-exchange routes of a server that cannot sign
// JWTs (no signing-key secret): the token endpoint says why and how to
// enable it, and the JWKS is honestly empty. The device grant needs no
// signing key and keeps working, and so do introspection and revocation,
// so the RFC 8414 metadata is still served, listing only those: standard
// clients find the endpoints by discovery.
type Disabled struct {
	Reason  string         // why, and how to enable token exchange
	Device  *Device        // the device grant; nil = off
	Issuer  func() string  // the public base URL, as in Deps
	Catalog *scope.Catalog // the scopes the metadata lists
}

// Mount adds the token endpoint, the JWKS and the metadata to mux.
func (d *Disabled) Mount(mux *http.ServeMux) {
	mux.HandleFunc(TokenPath, d.Device.Intercept(func(w http.ResponseWriter, r *http.Request) {
		writeOAuthError(w, r, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable",
			"token exchange is not enabled on this server: " + d.Reason})
	}))
	mux.HandleFunc("GET "+JWKSPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}` + "\n"))
	})
	mux.HandleFunc("GET "+MetadataPath, func(w http.ResponseWriter, r *http.Request) {
		writeMetadata(w, metadata(offer{issuer: d.Issuer(), catalog: d.Catalog, device: d.Device != nil}))
	})
}
