package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
)

// TestDisablingAPolicyDuringExchangesLeavesNoLiveToken is the incident an
// admin disables a policy for: a compromised CI job keeps exchanging fresh
// OIDC tokens. An exchange that read the policy before it was disabled
// must not hand out a token that outlives the disable (it would live for
// the policy's whole lifetime, unseen by the revocation that already ran).
func TestDisablingAPolicyDuringExchangesLeavesNoLiveToken(t *testing.T) {
	// Each round's CI job has its own address (through a trusted proxy):
	// the refusals after the disable count towards that address's limit.
	s := servertest.Start(t, "--trusted-proxies=127.0.0.1/32")
	is := oidctest.Start(t)
	admin := s.AdminSession(t)
	introspector := s.CreateToken(t, admin, map[string]any{"name": "rs", "scopes": []string{"introspect"}}).Secret
	s.CreateUser(t, admin, "deployer", "", "admin", "service")
	for round := range 24 {
		name := fmt.Sprintf("race-%d", round)
		var policy struct{ ID string }
		s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, map[string]any{
			"name": name, "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/web"},
			"service_account": "deployer", "scopes": []string{"repo"}, "max_lifetime": "10m",
		}, http.StatusCreated, &policy)
		ciAddress := fmt.Sprintf("192.0.2.%d", round+1)
		jwts := make(chan string, 200)
		for range cap(jwts) {
			jwts <- is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey"))
		}
		close(jwts)
		var (
			mu      sync.Mutex
			issued  []string
			wg      sync.WaitGroup
			stop    = make(chan struct{})
			started = make(chan struct{}, 64)
		)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for raw := range jwts {
					select {
					case <-stop:
						return
					default:
					}
					form := url.Values{
						"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {raw},
						"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}, "policy": {name},
					}
					req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("X-Forwarded-For", ciAddress)
					resp, err := s.Client.Do(req)
					if err != nil {
						continue
					}
					var out struct {
						AccessToken string `json:"access_token"`
					}
					decodeJSON(resp, &out)
					if out.AccessToken == "" {
						return // refused: the policy is disabled (and refusals count towards the address's limit)
					}
					{
						mu.Lock()
						issued = append(issued, out.AccessToken)
						mu.Unlock()
						select {
						case started <- struct{}{}:
						default:
						}
					}
				}
			}()
		}
		for range 10 {
			<-started
		}
		s.JSON(t, http.MethodPatch, "/api/v1/federation/policies/"+policy.ID, admin, map[string]any{"disabled": true}, http.StatusOK, nil)
		close(stop)
		wg.Wait()
		for _, secret := range issued {
			if introspectActive(t, s, introspector, secret) {
				t.Fatalf("round %d: a token issued by policy %s is active after the policy was disabled (%d issued)", round, name, len(issued))
			}
		}
	}
}

// decodeJSON decodes resp's body into v and closes it; an undecodable body
// leaves v as it was.
func decodeJSON(resp *http.Response, v any) {
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
}

// introspectActive asks POST /oauth2/introspect whether secret is active.
func introspectActive(t *testing.T, s *servertest.Server, caller, secret string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+caller)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	decodeJSON(resp, &out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspection: %d %v", resp.StatusCode, out)
	}
	return out["active"] == true
}

// TestAFedTokenCannotBeRegeneratedIntoALongLivedOne: a fed token lives
// min(policy max_lifetime, token policy); regenerating it with a new
// expiry (by itself, holding the tokens scope, or by an admin) must not
// turn a stolen CI token into a 180-day credential.
func TestAFedTokenCannotBeRegeneratedIntoALongLivedOne(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	admin, _ := fedSetup(t, s, is, "web", map[string]string{"repository": "acme/web"})
	for _, by := range []string{"the fed token itself", "an admin"} {
		_, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), nil)
		secret, _ := out["access_token"].(string)
		var me struct{ Token struct{ ID string } }
		s.JSON(t, http.MethodGet, "/api/v1/me", secret, nil, http.StatusOK, &me)
		bearer := secret
		if by == "an admin" {
			bearer = admin
		}
		for _, body := range []map[string]any{{"expires_in": "180d"}, {"no_expiry": true}, {}} {
			st, resp, _ := s.Do(t, http.MethodPost, "/api/v1/tokens/"+me.Token.ID+"/regenerate", bearer, body)
			if st != http.StatusConflict {
				t.Errorf("regenerate by %s with %v: %d %.300s; want 409", by, body, st, resp)
			}
		}
		var tok struct {
			ExpiresAt time.Time `json:"expires_at"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/tokens/"+me.Token.ID, admin, nil, http.StatusOK, &tok)
		if life := time.Until(tok.ExpiresAt); life > 10*time.Minute {
			t.Errorf("the fed token now expires in %s; its policy allows 10m", life.Round(time.Minute))
		}
		if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", secret, nil); st != http.StatusOK {
			t.Errorf("the fed token stopped working after refused regenerations: %d", st)
		}
	}
}

// A fed token with the tokens scope manages its service account's tokens
// (lists them, revokes them) but mints no lasting secret: a token it
// created or regenerated would outlive the CI run and its trust policy,
// and the OIDC token would have become a stored secret after all.
func TestAFedTokenMintsNoLastingSecret(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	admin, policyID := fedSetup(t, s, is, "web", map[string]string{"repository": "acme/web"})
	pat := s.CreateToken(t, admin, map[string]any{"name": "deploy-key", "user_id": "deployer", "scopes": []string{"repo"}, "expires_in": "720h"})

	_, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), nil)
	fed, _ := out["access_token"].(string)
	if fed == "" {
		t.Fatalf("exchange: %v", out)
	}
	st, body, _ := s.Do(t, http.MethodPost, "/api/v1/tokens", fed, map[string]any{"name": "forever", "scopes": []string{"repo"}, "expires_in": "180d"})
	if st != http.StatusForbidden || !strings.Contains(string(body), "workload identity federation") {
		t.Errorf("create with a fed token: %d %.300s; want 403 naming federation", st, body)
	}
	st, body, _ = s.Do(t, http.MethodPost, "/api/v1/tokens/"+pat.ID()+"/regenerate", fed, map[string]any{"expires_in": "180d"})
	if st != http.StatusForbidden {
		t.Errorf("regenerating the service account's PAT with a fed token: %d %.300s; want 403", st, body)
	}
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", pat.Secret, nil); st != http.StatusOK {
		t.Errorf("the PAT stopped working: %d", st)
	}
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/tokens", fed, nil); st != http.StatusOK {
		t.Errorf("listing with a fed token: %d; want 200", st)
	}
	// Disabling the policy leaves nothing of it behind that still works.
	s.JSON(t, http.MethodPatch, "/api/v1/federation/policies/"+policyID, admin, map[string]any{"disabled": true}, http.StatusOK, nil)
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", fed, nil); st != http.StatusUnauthorized {
		t.Errorf("the fed token after its policy was disabled: %d; want 401", st)
	}
	// The service account's own PAT still is a PAT: it may create tokens.
	if st, _, _ := s.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "next", "user_id": "deployer", "scopes": []string{"repo"}, "expires_in": "24h"}); st != http.StatusCreated {
		t.Errorf("an admin creating a token for the service account: %d; want 201", st)
	}
}

// A fed token holding admin:org administers, but leaves no lasting way
// back in: a trust policy it created (an issuer it controls) would mint
// fed tokens for ever after the run and its own policy are gone.
func TestAFedTokenCreatesNoTrustPolicy(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "ops-bot", "", "admin", "service")
	var p map[string]any
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, map[string]any{
		"name": "ops", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/ops"},
		"service_account": "ops-bot", "scopes": []string{"admin:org"}, "max_lifetime": "10m",
	}, http.StatusCreated, &p)
	_, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/ops", "refs/heads/main", "", "latchkey")), nil)
	fed, _ := out["access_token"].(string)
	if fed == "" {
		t.Fatalf("exchange: %v", out)
	}
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/federation/policies", fed, nil); st != http.StatusOK {
		t.Errorf("listing trust policies with an admin:org fed token: %d; want 200", st)
	}
	st, body, _ := s.Do(t, http.MethodPost, "/api/v1/federation/policies", fed, map[string]any{
		"name": "backdoor", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "evil/x"},
		"service_account": "ops-bot", "scopes": []string{"admin:org"},
	})
	if st != http.StatusForbidden || !strings.Contains(string(body), "workload identity federation") {
		t.Errorf("creating a trust policy with a fed token: %d %.300s; want 403", st, body)
	}
	id, _ := p["id"].(string)
	if st, _, _ := s.Do(t, http.MethodPatch, "/api/v1/federation/policies/"+id, fed, map[string]any{"conditions": map[string]string{"repository": "evil/*"}}); st != http.StatusForbidden {
		t.Errorf("widening its own trust policy with a fed token: %d; want 403", st)
	}
}
