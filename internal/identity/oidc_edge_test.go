package identity_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/latchkey/latchkey/internal/servertest"
)

// claimsUser is a provider user whose ID token carries exactly the given
// claims (besides iss, aud, sub, nonce and the times), as a real provider
// other than mockoidc's defaults sends them.
type claimsUser struct {
	sub    string
	claims map[string]any
}

func (u claimsUser) ID() string { return u.sub }

func (u claimsUser) Userinfo([]string) ([]byte, error) {
	out := map[string]any{"sub": u.sub}
	for k, v := range u.claims {
		out[k] = v
	}
	return json.Marshal(out)
}

func (u claimsUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	out := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	for k, v := range u.claims {
		out[k] = v
	}
	return out, nil
}

// signIn runs a whole sign-in at provider id in a fresh browser and returns
// the final status, page and the session it opened ("" when none).
func signIn(t *testing.T, s *servertest.Server, id string) (int, string, string) {
	t.Helper()
	c := browser(t)
	code, body, _ := get(t, c, s.URL+"/auth/sso/"+id)
	return code, body, sessionOf(t, c, s)
}

// TestSSONeverNamesAnAccountAfterAnUnverifiedEmail: a provider that says
// the address is not verified, as a boolean or as the string some providers
// send, neither passes allowed_domains nor names a just-in-time account.
func TestSSONeverNamesAnAccountAfterAnUnverifiedEmail(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{extra: "      allowed_domains: [example.com]"})
	for _, verified := range []any{"false", "False", "no", 0} {
		m.QueueUser(claimsUser{"sub-eve-" + fmt.Sprint(verified), map[string]any{
			"preferred_username": "eve", "email": "eve@example.com", "email_verified": verified, "groups": []string{"engineering"}}})
		if code, body, sess := signIn(t, s, "corp"); code != http.StatusForbidden || sess != "" || !strings.Contains(body, "not verified") {
			t.Errorf("email_verified %#v with allowed_domains: %d, session %q, want 403 \"not verified\": %.300s", verified, code, sess, between(body, "<main", "</main>"))
		}
	}
	// The string "true" is a verification, as Cognito sends it.
	m.QueueUser(claimsUser{"sub-ann", map[string]any{
		"preferred_username": "ann", "email": "ann@example.com", "email_verified": "true", "groups": []string{"engineering"}}})
	if code, body, sess := signIn(t, s, "corp"); code != http.StatusOK || sess == "" {
		t.Fatalf("email_verified \"true\": %d, want a session: %.300s", code, between(body, "<main", "</main>"))
	}

	// Without preferred_username the name comes from the email address:
	// never from one the provider has not verified.
	m2 := startIdP(t)
	s2 := startLatchkey(t, m2, providerOpts{})
	admin := s2.AdminSession(t)
	m2.QueueUser(claimsUser{"sub-mallory", map[string]any{
		"email": "ceo@example.com", "email_verified": false, "groups": []string{"lk-admins"}}})
	if code, body, sess := signIn(t, s2, "corp"); code != http.StatusForbidden || sess != "" || !strings.Contains(body, "not verified") {
		t.Errorf("name from an unverified address: %d, session %q, want 403: %.300s", code, sess, between(body, "<main", "</main>"))
	}
	if code, _, _ := s2.Do(t, http.MethodGet, "/api/v1/users/ceo-example.com", admin, nil); code != http.StatusNotFound {
		t.Errorf("an account named after an unverified address exists: GET /api/v1/users/ceo-example.com = %d, want 404", code)
	}
}

// startTwoProviders runs Latchkey with two providers, "corp" (first) and
// "partner" (second), both mapping groups to roles.
func startTwoProviders(t *testing.T, corp, partner *mockoidc.MockOIDC) *servertest.Server {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("sso:\n  providers:\n")
	for _, p := range []struct {
		id string
		m  *mockoidc.MockOIDC
	}{{"corp", corp}, {"partner", partner}} {
		secret := filepath.Join(dir, p.id+"-secret")
		if err := os.WriteFile(secret, []byte(p.m.ClientSecret), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, `    - id: %s
      name: %s
      issuer: %s
      client_id: %s
      client_secret_file: %s
      scopes: [openid, profile, email, groups]
      roles: {claim: groups, owner: [lk-owners], admin: [lk-admins], member: [engineering]}
`, p.id, p.id, p.m.Issuer(), p.m.ClientID, secret)
	}
	path := filepath.Join(dir, "latchkey.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, "--config", path)
}

// TestSSOUserOfAnotherProviderCannotTakeOverAnAccountByName: an account
// that signs in through one provider is never claimed by a user of another
// provider who merely has the same user name, with or without an email.
func TestSSOUserOfAnotherProviderCannotTakeOverAnAccountByName(t *testing.T) {
	corp, partner := startIdP(t), startIdP(t)
	s := startTwoProviders(t, corp, partner)

	// jane signs in through corp, which (like Entra ID by default) sends
	// no email claim, and becomes an admin.
	corp.QueueUser(claimsUser{"corp-jane", map[string]any{"preferred_username": "jane", "groups": []string{"lk-admins"}}})
	code, _, janeSess := signIn(t, s, "corp")
	if code != http.StatusOK || janeSess == "" {
		t.Fatalf("jane's sign-in through corp: %d", code)
	}
	_, jane := whoami(t, s, janeSess)

	for name, claims := range map[string]map[string]any{
		"no email":         {"preferred_username": "jane", "groups": []string{"engineering"}},
		"unverified email": {"preferred_username": "JANE", "email": "jane@example.com", "email_verified": false, "groups": []string{"engineering"}},
		"verified email":   {"preferred_username": "jane", "email": "attacker@partner.example", "email_verified": true, "groups": []string{"engineering"}},
	} {
		partner.QueueUser(claimsUser{"partner-" + strings.ReplaceAll(name, " ", "-"), claims})
		code, body, sess := signIn(t, s, "partner")
		if sess != "" {
			_, who := whoami(t, s, sess)
			if who.User.ID == jane.User.ID {
				t.Errorf("%s: partner's \"jane\" signed in to corp's jane (%s, role %s)", name, who.User.ID, who.User.Role)
			}
		}
		if code != http.StatusConflict || !strings.Contains(body, "another identity") {
			t.Errorf("%s: partner's \"jane\": %d, want 409 saying the name signs in through another identity: %.300s", name, code, between(body, "<main", "</main>"))
		}
	}
	// jane herself still signs in through corp.
	corp.QueueUser(claimsUser{"corp-jane", map[string]any{"preferred_username": "jane", "groups": []string{"lk-admins"}}})
	if code, _, sess := signIn(t, s, "corp"); code != http.StatusOK || sess == "" {
		t.Fatalf("jane's second sign-in through corp: %d", code)
	}
}

// TestSSOCallbackShowsOnlyErrorsOfThisBrowsersSignIn: a link to the
// callback with error=<text>, sent by anyone, must not put that text on the
// login page; a provider's real refusal of this browser's sign-in is shown
// by its error code.
func TestSSOCallbackShowsOnlyErrorsOfThisBrowsersSignIn(t *testing.T) {
	deny := func(m *mockoidc.MockOIDC) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/authorize") {
					q := r.URL.Query()
					http.Redirect(w, r, q.Get("redirect_uri")+"?error=access_denied&error_description=no&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	m := startIdP(t, deny)
	s := startLatchkey(t, m, providerOpts{})

	lure := "Your-account-is-locked.Call-555-0100"
	for _, q := range []string{"error=" + lure, "error=" + url.QueryEscape("Call +1 555 0100 now") + "&state=x"} {
		code, body, _ := get(t, browser(t), s.URL+"/auth/sso/corp/callback?"+q)
		// The lures' words, not just "555", which an asset's hash may hold.
		if strings.Contains(body, "555-0100") || strings.Contains(body, "555 0100") || strings.Contains(body, "locked") || code == http.StatusOK {
			t.Errorf("callback?%s: %d, and the page repeats the link's text: %.300s", q, code, between(body, "<main", "</main>"))
		}
	}
	code, body, sess := signIn(t, s, "corp")
	if code != http.StatusForbidden || sess != "" || !strings.Contains(body, "refused the sign-in (access_denied)") {
		t.Fatalf("the provider's refusal: %d, want 403 naming access_denied: %.300s", code, between(body, "<main", "</main>"))
	}
}

// TestSSORefusesIDTokensIssuedToAnotherApplication: an ID token whose aud
// lists Latchkey among others, without an azp naming Latchkey, or with an
// azp naming another client, was issued to someone else.
func TestSSORefusesIDTokensIssuedToAnotherApplication(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	base := map[string]any{"preferred_username": "ann", "email": "ann@example.com", "email_verified": true, "groups": []string{"engineering"}}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	for name, extra := range map[string]map[string]any{
		"several audiences, no azp":      {"aud": []string{"other-app", m.ClientID}},
		"several audiences, foreign azp": {"aud": []string{"other-app", m.ClientID}, "azp": "other-app"},
		"foreign azp":                    {"azp": "other-app"},
	} {
		m.QueueUser(claimsUser{"sub-ann", with(extra)})
		if code, body, sess := signIn(t, s, "corp"); code != http.StatusForbidden || sess != "" || !strings.Contains(body, "another application") {
			t.Errorf("%s: %d, session %q, want 403: %.300s", name, code, sess, between(body, "<main", "</main>"))
		}
	}
	m.QueueUser(claimsUser{"sub-ann", with(map[string]any{"aud": []string{"other-app", m.ClientID}, "azp": m.ClientID})})
	if code, _, sess := signIn(t, s, "corp"); code != http.StatusOK || sess == "" {
		t.Fatalf("several audiences with azp = Latchkey: %d, want a session", code)
	}
}
