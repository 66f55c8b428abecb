// Command protected-service is a tiny inventory API protected by Latchkey.
// Its clients exchange a Latchkey personal access token for a short-lived
// JWT with audience "inventory" and send it as a bearer token; the service
// verifies it offline against Latchkey's published keys.
//
//	LATCHKEY_URL=http://127.0.0.1:8080 go run ./examples/protected-service
//
// See README.md next to this file for the whole walk-through.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/latchkey/latchkey/middleware" // 1. import the middleware
)

func main() {
	issuer := getenv("LATCHKEY_URL", "http://127.0.0.1:8080")
	addr := getenv("ADDR", "127.0.0.1:9000")
	log.Printf("inventory service on http://%s, trusting Latchkey at %s", addr, issuer)
	log.Fatal(http.ListenAndServe(addr, newHandler(issuer)))
}

// newHandler is the whole service: two routes behind the middleware.
func newHandler(issuer string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", whoami)
	// Reading a repository needs repo:read on that repository: a token
	// narrowed to "repo:read=acme/*" may read acme/web but not other/web.
	mux.Handle("GET /repos/{owner}/{name}", middleware.RequireResource("repo:read", func(r *http.Request) string {
		return r.PathValue("owner") + "/" + r.PathValue("name")
	})(http.HandlerFunc(showRepo)))

	protect := middleware.New(middleware.Options{Issuer: issuer, Audience: "inventory"}) // 2. configure it
	return protect(mux)                                                                  // 3. wrap the service
}

func whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PrincipalFrom(r.Context())
	writeJSON(w, map[string]any{"user": p.Username, "user_id": p.Subject, "token_id": p.TokenID,
		"scopes": p.Scopes, "expires_at": p.ExpiresAt})
}

func showRepo(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PrincipalFrom(r.Context())
	writeJSON(w, map[string]any{"repository": r.PathValue("owner") + "/" + r.PathValue("name"),
		"read_by": p.Username, "can_push": p.Allows("repo", r.PathValue("owner")+"/"+r.PathValue("name"))})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
