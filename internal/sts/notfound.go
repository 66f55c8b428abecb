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
		paths := []string{TokenPath, IntrospectPath, RevokePath, DeviceAuthorizationPath}
		writeOAuthError(w, r, &oauthError{http.StatusNotFound, "invalid_request", "no OAuth endpoint " +
			printableID(r.URL.Path) + "; this server has " + strings.Join(paths, ", ") + " (see " + MetadataPath + ")"})
	})
}
