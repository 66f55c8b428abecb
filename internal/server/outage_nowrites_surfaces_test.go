package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
)

// TestEverySurfaceTellsReadinessOfARefusedWrite: after a failover the
// database URL may lead to a PostgreSQL standby (every write refused,
// SQLSTATE 25006). The writes a server then receives may all come from
// other software: CI jobs exchanging OIDC tokens at /oauth2/token, the
// identity provider's SCIM client, the CLI's device sign-in. Each must be told 503 in its own
// protocol, saying the database accepts no writes (never a 500, nor a
// 401 for a connection lost during the credential's check), and
// /readyz must turn 503, as it does for the API and the console, so that
// a load balancer sends those writes to a replica that can take them.
func TestEverySurfaceTellsReadinessOfARefusedWrite(t *testing.T) {
	for _, surface := range []string{"oauth2", "device", "scim"} {
		t.Run(surface, func(t *testing.T) {
			s, conn, role := ownRoleServer(t, fedSecretArg)
			ctx := context.Background()
			var write func() (int, string)
			switch surface {
			case "oauth2":
				is := oidctest.Start(t)
				fedSetup(t, s, is, "deploy", map[string]string{"repository": "acme/web"})
				write = func() (int, string) {
					st, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), nil)
					desc, _ := out["error_description"].(string)
					return st, out["error"].(string) + ": " + desc
				}
			case "device": // RFC 8628: the CLI's `login --web` stores a device code first
				write = func() (int, string) {
					resp, err := s.Client.PostForm(s.URL+"/oauth2/device_authorization", url.Values{"client_id": {"latchkey-cli"}})
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return resp.StatusCode, string(b)
				}
			case "scim":
				admin := s.AdminSession(t)
				robot := s.CreateUser(t, admin, "scim-robot", "", "admin", "service")
				bearer := s.CreateToken(t, admin, map[string]any{"name": "idp", "user_id": robot, "scopes": []string{"scim"}, "no_expiry": true}).Secret
				write = func() (int, string) {
					req, _ := http.NewRequest(http.MethodPost, s.URL+"/scim/v2/Users", strings.NewReader(`{"userName":"ann@corp.example"}`))
					req.Header.Set("Content-Type", "application/scim+json")
					req.Header.Set("Authorization", "Bearer "+bearer)
					resp, err := s.Client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return resp.StatusCode, string(b)
				}
			}
			if _, err := conn.Exec(ctx, `ALTER ROLE `+role+` SET default_transaction_read_only = on`); err != nil {
				t.Fatal(err)
			}
			terminateRole(t, conn, role)
			var st int
			var body string
			// The first requests may meet a connection the termination
			// closed under them (a lost connection); the refusal follows.
			// Every answer meanwhile is a 503: never a 500, and never a 401
			// calling a valid credential invalid because the database failed
			// (Entra ID stops provisioning after repeated 401s).
			for range 20 {
				st, body = write()
				if st != http.StatusServiceUnavailable {
					t.Errorf("%s write while the database goes read-only: %d %s; want 503", surface, st, body)
				}
				if st != http.StatusServiceUnavailable || !strings.Contains(body, "unreachable") {
					break
				}
			}
			if st != http.StatusServiceUnavailable || !strings.Contains(body, "accepts no writes") {
				t.Errorf("%s write on a read-only database: %d %s; want 503 saying the database accepts no writes", surface, st, body)
			}
			if st, b, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(b), "accepts no writes") {
				t.Errorf("/readyz after a refused %s write: %d %s; want 503 saying the database accepts no writes", surface, st, b)
			}
		})
	}
}
