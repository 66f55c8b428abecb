package identity_test

import (
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMGroupGetHonoursExcludedAttributesMembers: GET
// /scim/v2/Groups/{id} answers the group without its members when asked
// to leave them out (excludedAttributes=members, as Entra ID and Okta send
// it to look a group up, or attributes naming others but not members),
// as the group list does, and with them otherwise.
func TestSCIMGroupGetHonoursExcludedAttributesMembers(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		c := scimCall{t, s, scimToken(t, s, admin, "scim")}
		alice := c.want("POST", "/Users", `{"userName":"alice"}`, 201)["id"].(string)
		bob := c.want("POST", "/Users", `{"userName":"bob"}`, 201)["id"].(string)
		id := c.want("POST", "/Groups", mustJSON(map[string]any{"displayName": "team", "externalId": "ext-team",
			"members": []map[string]string{{"value": alice}, {"value": bob}}}), 201)["id"].(string)
		for _, tc := range []struct {
			query   string
			members bool
		}{
			{"", true},
			{"?attributes=members", true},
			{"?attributes=" + url.QueryEscape("displayName,members.value"), true},
			{"?excludedAttributes=externalId", true},
			{"?excludedAttributes=members", false},
			{"?excludedAttributes=Members", false},
			{"?excludedAttributes=" + url.QueryEscape("urn:ietf:params:scim:schemas:core:2.0:Group:members"), false},
			{"?excludedAttributes=" + url.QueryEscape("externalId, members"), false},
			{"?attributes=displayName", false},
		} {
			g := c.want("GET", "/Groups/"+id+tc.query, "", 200)
			ms, has := g["members"]
			if g["id"] != id || g["displayName"] != "team" || g["meta"] == nil {
				t.Errorf("GET /Groups/{id}%s: %v, want the group team", tc.query, g)
			}
			if !tc.members && has {
				t.Errorf("GET /Groups/{id}%s: members %v, want none answered", tc.query, ms)
			}
			if l, _ := ms.([]any); tc.members && len(l) != 2 {
				t.Errorf("GET /Groups/{id}%s: members %v, want alice and bob", tc.query, ms)
			}
		}
		// An unknown group is still 404, with or without members.
		for _, q := range []string{"", "?excludedAttributes=members"} {
			c.want("GET", "/Groups/00000000-0000-0000-0000-000000000000"+q, "", 404)
		}
	})
}
