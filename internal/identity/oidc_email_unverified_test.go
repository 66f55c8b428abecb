package identity_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// emailOf is the address Latchkey keeps for user name (where token expiry
// reminders and leak notices go), as an admin reads it.
func emailOf(t *testing.T, s *servertest.Server, admin, name string) string {
	t.Helper()
	var u struct {
		Email string `json:"email"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/users/"+name, admin, nil, http.StatusOK, &u)
	return u.Email
}

// TestSSOKeepsOnlyAVerifiedEmailAddress: an address the provider has not
// said it verified (email_verified absent, without trust_email, or false)
// never becomes the address Latchkey sends token expiry reminders and leak
// notices to, neither at the first sign-in nor over a verified one at a
// later sign-in, and does not pass allowed_domains; a verified one (or one
// trusted by trust_email) is kept and kept current.
func TestSSOKeepsOnlyAVerifiedEmailAddress(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	admin := s.AdminSession(t)
	signInAs := func(sub string, claims map[string]any) {
		t.Helper()
		claims["preferred_username"], claims["groups"] = "alice", []string{"engineering"}
		m.QueueUser(claimsUser{sub, claims})
		if code, body, sess := signIn(t, s, "corp"); code != http.StatusOK || sess == "" {
			t.Fatalf("sign-in with %v: %d, want a session: %.300s", claims, code, between(body, "<main", "</main>"))
		}
	}

	// First sign-in with an address nobody said was verified: no address.
	signInAs("sub-alice", map[string]any{"email": "alice@attacker.example"})
	if got := emailOf(t, s, admin, "alice"); got != "" {
		t.Errorf("after a sign-in with email_verified absent: email %q, want none", got)
	}
	// A verified one is taken.
	signInAs("sub-alice", map[string]any{"email": "alice@corp.example", "email_verified": true})
	if got := emailOf(t, s, admin, "alice"); got != "alice@corp.example" {
		t.Errorf("after a sign-in with email_verified true: email %q, want alice@corp.example", got)
	}
	// Neither an unverified nor an unconfirmed one replaces it.
	for _, claims := range []map[string]any{
		{"email": "mallory@attacker.example"},
		{"email": "mallory@attacker.example", "email_verified": false},
		{"email": "mallory@attacker.example", "email_verified": "false"},
	} {
		signInAs("sub-alice", claims)
		if got := emailOf(t, s, admin, "alice"); got != "alice@corp.example" {
			t.Errorf("after a sign-in with %v: email %q, want alice@corp.example kept", claims, got)
		}
	}
	// A verified change is kept current, as the string "true" some
	// providers send.
	signInAs("sub-alice", map[string]any{"email": "alice@new.example", "email_verified": "true"})
	if got := emailOf(t, s, admin, "alice"); got != "alice@new.example" {
		t.Errorf("after a verified change: email %q, want alice@new.example", got)
	}

	// With trust_email the provider's word is enough, unless it says false.
	m2 := startIdP(t)
	s2 := startLatchkey(t, m2, providerOpts{extra: "      trust_email: true"})
	admin2 := s2.AdminSession(t)
	m2.QueueUser(claimsUser{"sub-bob", map[string]any{"preferred_username": "bob", "email": "bob@corp.example", "groups": []string{"engineering"}}})
	if code, body, sess := signIn(t, s2, "corp"); code != http.StatusOK || sess == "" {
		t.Fatalf("trust_email sign-in: %d: %.300s", code, between(body, "<main", "</main>"))
	}
	if got := emailOf(t, s2, admin2, "bob"); got != "bob@corp.example" {
		t.Errorf("trust_email, email_verified absent: email %q, want bob@corp.example", got)
	}
	m2.QueueUser(claimsUser{"sub-bob", map[string]any{"preferred_username": "bob", "email": "bob@attacker.example", "email_verified": false, "groups": []string{"engineering"}}})
	if code, body, sess := signIn(t, s2, "corp"); code != http.StatusOK || sess == "" {
		t.Fatalf("trust_email sign-in, email_verified false: %d: %.300s", code, between(body, "<main", "</main>"))
	}
	if got := emailOf(t, s2, admin2, "bob"); got != "bob@corp.example" {
		t.Errorf("trust_email, email_verified false: email %q, want bob@corp.example kept", got)
	}

	// allowed_domains lets in no address that is not verified.
	m3 := startIdP(t)
	s3 := startLatchkey(t, m3, providerOpts{extra: "      allowed_domains: [corp.example]"})
	for _, claims := range []map[string]any{
		{"email": "carol@corp.example"},
		{"email": "carol@corp.example", "email_verified": false},
		{"email": "carol@corp.example", "email_verified": "yes"},
	} {
		claims["preferred_username"], claims["groups"] = "carol", []string{"engineering"}
		m3.QueueUser(claimsUser{"sub-carol", claims})
		if code, body, sess := signIn(t, s3, "corp"); code != http.StatusForbidden || sess != "" || !strings.Contains(body, "verified") {
			t.Errorf("allowed_domains, %v: %d, session %q, want 403 saying verified: %.300s", claims, code, sess, between(body, "<main", "</main>"))
		}
	}
	m3.QueueUser(claimsUser{"sub-carol", map[string]any{"preferred_username": "carol", "email": "carol@corp.example", "email_verified": true, "groups": []string{"engineering"}}})
	if code, body, sess := signIn(t, s3, "corp"); code != http.StatusOK || sess == "" {
		t.Errorf("allowed_domains, a verified address: %d, want a session: %.300s", code, between(body, "<main", "</main>"))
	}
}

// TestSSOClaimsAProvisionedAccountOnlyWithItsVerifiedAddress: an account
// SCIM provisioned with an email address is claimed at a first sign-in only
// by an identity whose provider verified that address; the same address
// sent without email_verified (and without trust_email) is refused 409
// saying so, and claims nothing.
func TestSSOClaimsAProvisionedAccountOnlyWithItsVerifiedAddress(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	id := c.want("POST", "/Users", `{"userName":"dave","emails":[{"value":"dave@corp.example","primary":true}]}`, 201)["id"].(string)

	m.QueueUser(claimsUser{"sub-dave", map[string]any{"preferred_username": "dave", "email": "dave@corp.example", "groups": []string{"engineering"}}})
	if code, body, sess := signIn(t, s, "corp"); code != http.StatusConflict || sess != "" || !strings.Contains(body, "verified") {
		t.Fatalf("the provisioned address without email_verified: %d, session %q, want 409 saying verified: %.300s", code, sess, between(body, "<main", "</main>"))
	}
	m.QueueUser(claimsUser{"sub-dave", map[string]any{"preferred_username": "dave", "email": "dave@corp.example", "email_verified": true, "groups": []string{"engineering"}}})
	code, body, sess := signIn(t, s, "corp")
	if code != http.StatusOK || sess == "" {
		t.Fatalf("the provisioned address, verified: %d, want a session: %.300s", code, between(body, "<main", "</main>"))
	}
	if st, me := whoami(t, s, sess); st != http.StatusOK || me.User.ID != id {
		t.Errorf("the verified sign-in: %d, user %+v, want the provisioned account %s", st, me.User, id)
	}
}
