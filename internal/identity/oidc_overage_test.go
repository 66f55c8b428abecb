package identity_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSSORoleClaimSentByReferenceSuspendsNobody: Entra ID leaves the
// groups claim out of the ID token of a person in more than 200 groups
// and says so with _claim_names (OIDC Core §5.6.2, distributed claims).
// Read as "in no group", that sign-in suspended the person and stopped
// every token they held; the provider asserted nothing of the kind. The
// sign-in is refused, saying why, and the account is left as it was.
func TestSSORoleClaimSentByReferenceSuspendsNobody(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	m.QueueUser(user("sub-ann", "ann", "engineering"))
	code, _, sess := signIn(t, s, "corp")
	if code != http.StatusOK || sess == "" {
		t.Fatalf("ann's first sign-in: %d", code)
	}
	pat := s.CreateToken(t, sess, map[string]any{"name": "ci", "scopes": []string{"repo"}, "expires_in": "720h"})

	m.QueueUser(claimsUser{"sub-ann", map[string]any{
		"preferred_username": "ann", "email": "ann@example.com", "email_verified": true,
		"_claim_names":   map[string]any{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/ann/getMemberObjects"}},
	}})
	code, body, sess2 := signIn(t, s, "corp")
	if code != http.StatusForbidden || sess2 != "" || !strings.Contains(body, "groups claim only by reference") {
		t.Errorf("sign-in whose groups claim came by reference: %d (session %t), want 403 naming the groups claim: %.400s", code, sess2 != "", between(body, "<main", "</main>"))
	}
	if got := meStatus(t, s, pat.Secret); got != http.StatusOK {
		t.Errorf("ann's token after a sign-in whose groups came by reference: /me %d, want 200 (she was not taken out of any group)", got)
	}
	if _, susp := roleOf(t, s, s.AdminSession(t), "ann"); susp {
		t.Error("ann was suspended by a sign-in whose groups claim came by reference")
	}
}
