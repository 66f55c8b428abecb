package sts_test

import (
	"testing"

	"github.com/latchkey/latchkey/internal/sts"
)

// TestTokenEndpointRefusesRepeatedParameters sends each parameter the
// token exchange reads twice, the exchangeable value first, as a client
// hoping the server takes the first while something in front of it checks
// the last: RFC 6749 §3.2 allows a parameter once, and every repeat is
// answered 400 invalid_request naming it. (/oauth2/revoke refuses a
// repeated token too: TestRevocationAnswersAsRFC7009Says.)
func TestTokenEndpointRefusesRepeatedParameters(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	good := patFor(t, s, admin, "good", []string{"repo"})
	other := patFor(t, s, admin, "other", []string{"repo"})
	for name, second := range map[string]string{
		"grant_type":           "client_credentials",
		"subject_token":        other.Secret,
		"subject_token_type":   sts.TypeJWT,
		"requested_token_type": sts.TypeAccessToken,
		"scope":                "repo:read",
		"client_secret":        good.Secret,
	} {
		t.Run(name, func(t *testing.T) {
			f := exchangeForm(good.Secret)
			if !f.Has(name) {
				f.Set(name, map[string]string{"requested_token_type": sts.TypeJWT, "scope": "repo", "client_secret": good.Secret}[name])
			}
			f.Add(name, second)
			status, out := post(t, s, sts.TokenPath, f, "")
			want := "parameter " + name + " is repeated; send it once"
			if status != 400 || out["error"] != "invalid_request" || out["error_description"] != want {
				t.Fatalf("status %d, answer %v; want 400 invalid_request %q", status, out, want)
			}
		})
	}
	t.Run("audience may repeat", func(t *testing.T) {
		status, out := post(t, s, sts.TokenPath, exchangeForm(good.Secret, "audience", "a", "audience", "b"), "")
		if status != 200 {
			t.Fatalf("status %d, answer %v; RFC 8693 allows several audience values", status, out)
		}
	})
}
