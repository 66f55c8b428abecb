package identity_test

import (
	"net/http"
	"testing"
)

// TestSSOPartnerCannotClaimAnAccountProvisionedForCorp: with two providers,
// corp's SCIM client provisions jane (with her address, and puts her in
// lk-admins) before she ever signs in. A user of the partner provider who
// calls themselves jane, with no email or with jane's address the partner
// never said it verified (no email_verified claim, as Entra ID and many
// providers send it), must not sign in to that account: it would hold jane's groups (her role) and
// lock the real jane out ("signs in through another identity").
func TestSSOPartnerCannotClaimAnAccountProvisionedForCorp(t *testing.T) {
	for name, claims := range map[string]map[string]any{
		"no email":           {"preferred_username": "jane", "groups": []string{"engineering"}},
		"unconfirmed email":  {"preferred_username": "jane", "email": "jane@corp.example", "groups": []string{"engineering"}},
		"other case no mail": {"preferred_username": "JANE", "groups": []string{"engineering"}},
	} {
		t.Run(name, func(t *testing.T) {
			corp, partner := startIdP(t), startIdP(t)
			s := startTwoProviders(t, corp, partner)
			admin := s.AdminSession(t)
			c := scimCall{t, s, scimToken(t, s, admin, "scim")}
			// As Okta and Entra ID provision: userName, externalId and the
			// work address.
			jane := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane","externalId":"00u-jane",
				"emails":[{"value":"jane@corp.example","type":"work","primary":true}]}`, 201)["id"].(string)
			c.want("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"lk-admins","members":[{"value":"`+jane+`"}]}`, 201)

			partner.QueueUser(claimsUser{"partner-mallory", claims})
			code, _, sess := signIn(t, s, "partner")
			if sess != "" {
				if _, who := whoami(t, s, sess); who.User.ID == jane {
					t.Errorf("partner's %q (%s) signed in to the account corp provisioned for jane, as %s (sign-in %d)", claims["preferred_username"], name, who.User.Role, code)
				}
			}
			// jane herself, through corp, gets her account.
			corp.QueueUser(claimsUser{"corp-jane", map[string]any{"preferred_username": "jane", "email": "jane@corp.example", "email_verified": true, "groups": []string{"engineering"}}})
			code, page, sess := signIn(t, s, "corp")
			if code != http.StatusOK || sess == "" {
				t.Fatalf("jane's own sign-in through corp: %d %.300s", code, between(page, "<main", "</main>"))
			}
			if _, who := whoami(t, s, sess); who.User.ID != jane {
				t.Errorf("jane signed in through corp to %s (%s), want the account provisioned for her (%s)", who.User.ID, who.User.Username, jane)
			}
			// Claiming the provisioned account linked corp's identity to
			// it: a security change, on record like an admin's link.
			var linked struct {
				Items []struct {
					Details map[string]any `json:"details"`
				} `json:"items"`
			}
			s.JSON(t, http.MethodGet, "/api/v1/audit?action=user.link_identity&target_id="+jane, admin, nil, http.StatusOK, &linked)
			if len(linked.Items) != 1 || linked.Items[0].Details["provider"] != "corp" {
				t.Errorf("audit user.link_identity for jane after her first sign-in: %+v; want one event naming provider corp", linked.Items)
			}
		})
	}
}
