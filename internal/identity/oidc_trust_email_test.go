package identity_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSSOAddressWithoutEmailVerifiedIsNotTrustedUnlessConfigured: a
// provider that sends an email address without email_verified (Entra ID
// sends a user-editable one: the nOAuth problem) has not said it verified
// it. Such an address neither passes allowed_domains nor names an account,
// unless the provider is configured trust_email: true. An address the
// provider says is unverified is refused even then.
func TestSSOAddressWithoutEmailVerifiedIsNotTrustedUnlessConfigured(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{extra: "      allowed_domains: [example.com]"})
	m.QueueUser(claimsUser{"sub-eve", map[string]any{
		"preferred_username": "eve", "email": "eve@example.com", "groups": []string{"engineering"}}})
	code, body, sess := signIn(t, s, "corp")
	if code != http.StatusForbidden || sess != "" || !strings.Contains(body, "verified") || !strings.Contains(body, "trust_email") {
		t.Errorf("allowed_domains with no email_verified: %d, session %q, want 403 saying verified and trust_email: %.400s", code, sess, between(body, "<main", "</main>"))
	}

	// Without preferred_username the name would come from the address.
	m2 := startIdP(t)
	s2 := startLatchkey(t, m2, providerOpts{})
	admin := s2.AdminSession(t)
	m2.QueueUser(claimsUser{"sub-mallory", map[string]any{"email": "ceo@example.com", "groups": []string{"lk-admins"}}})
	code, body, sess = signIn(t, s2, "corp")
	if code != http.StatusForbidden || sess != "" || !strings.Contains(body, "verified") || !strings.Contains(body, "trust_email") {
		t.Errorf("name from an address with no email_verified: %d, session %q, want 403: %.400s", code, sess, between(body, "<main", "</main>"))
	}
	if code, _, _ := s2.Do(t, http.MethodGet, "/api/v1/users/ceo-example.com", admin, nil); code != http.StatusNotFound {
		t.Errorf("an account named after an address nobody verified exists: GET /api/v1/users/ceo-example.com = %d, want 404", code)
	}

	// trust_email: true takes the provider at its word.
	m3 := startIdP(t)
	s3 := startLatchkey(t, m3, providerOpts{extra: "      allowed_domains: [example.com, kelvin.example]\n      trust_email: true"})
	admin3 := s3.AdminSession(t)
	m3.QueueUser(claimsUser{"sub-ann", map[string]any{"email": "ann@example.com", "groups": []string{"engineering"}}})
	if code, body, sess := signIn(t, s3, "corp"); code != http.StatusOK || sess == "" {
		t.Fatalf("trust_email with no email_verified: %d, want a session: %.400s", code, between(body, "<main", "</main>"))
	}
	if code, _, _ := s3.Do(t, http.MethodGet, "/api/v1/users/ann-example.com", admin3, nil); code != http.StatusOK {
		t.Errorf("trust_email: GET /api/v1/users/ann-example.com = %d, want 200", code)
	}
	m3.QueueUser(claimsUser{"sub-bob", map[string]any{"email": "bob@example.com", "email_verified": false, "groups": []string{"engineering"}}})
	if code, body, sess := signIn(t, s3, "corp"); code != http.StatusForbidden || sess != "" || !strings.Contains(body, "not verified") {
		t.Errorf("trust_email with email_verified false: %d, session %q, want 403: %.400s", code, sess, between(body, "<main", "</main>"))
	}
	// Another domain is still refused, and so is one that only Unicode
	// case folding (the Kelvin sign U+212A for k) makes an allowed one.
	for _, email := range []string{"zed@elsewhere.com", "kim@\u212Aelvin.example"} {
		m3.QueueUser(claimsUser{"sub-" + email, map[string]any{"email": email, "groups": []string{"engineering"}}})
		if code, _, sess := signIn(t, s3, "corp"); code != http.StatusForbidden || sess != "" {
			t.Errorf("trust_email, address %q: %d, session %q, want 403", email, code, sess)
		}
	}
}
