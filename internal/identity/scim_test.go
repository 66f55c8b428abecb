package identity_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// scimConfig declares a provider (never contacted: discovery is lazy) so
// that SCIM groups map to roles.
func scimConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "latchkey.yaml")
	cfg := `sso:
  providers:
    - id: corp
      name: Corp SSO
      issuer: https://idp.example.com
      client_id: latchkey
      client_secret: not-used-here
      roles: {claim: groups, owner: [lk-owners], admin: [lk-admins], member: [engineering]}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// scimToken creates an admin access token holding scim, owned by a service
// account, as an identity provider's SCIM client would be given.
func scimToken(t *testing.T, s *servertest.Server, admin string, scopes ...string) string {
	t.Helper()
	robot := s.CreateUser(t, admin, "scim-"+strings.ReplaceAll(strings.Join(scopes, "-"), ":", "-"), "", "admin", "service")
	return s.CreateToken(t, admin, map[string]any{"name": "idp", "user_id": robot, "scopes": scopes, "no_expiry": true}).Secret
}

type scimCall struct {
	t      *testing.T
	s      *servertest.Server
	bearer string
}

func (c scimCall) do(method, path, body string) (int, map[string]any, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.s.URL+"/scim/v2"+path, bytes.NewBufferString(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.s.Client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/scim+json" {
			c.t.Errorf("%s %s: Content-Type %q, want application/scim+json", method, path, ct)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (c scimCall) want(method, path, body string, status int) map[string]any {
	c.t.Helper()
	code, out, _ := c.do(method, path, body)
	if code != status {
		c.t.Fatalf("%s %s = %d, want %d: %v", method, path, code, status, out)
	}
	return out
}

func meStatus(t *testing.T, s *servertest.Server, secret string) int {
	code, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", secret, nil)
	return code
}

func roleOf(t *testing.T, s *servertest.Server, admin, name string) (string, bool) {
	var u struct {
		Role      string `json:"role"`
		Suspended bool   `json:"suspended"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/users/"+name, admin, nil, 200, &u)
	return u.Role, u.Suspended
}

// TestSCIMProvisioningFlowsOfRFC7644OktaAndEntra runs the RFC 7644 §3
// examples and the Okta and Entra ID provisioning flows over HTTP.
func TestSCIMProvisioningFlowsOfRFC7644OktaAndEntra(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		c := scimCall{t, s, scimToken(t, s, admin, "scim")}

		// RFC 7644 §3.3: create, with the example body (name is ignored).
		created := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen","externalId":"bjensen",
			"name":{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"Barbara"},"emails":[{"value":"bjensen@example.com","primary":true}]}`, 201)
		id, _ := created["id"].(string)
		meta, _ := created["meta"].(map[string]any)
		if id == "" || created["userName"] != "bjensen" || created["active"] != true || meta["resourceType"] != "User" || !strings.HasSuffix(meta["location"].(string), "/scim/v2/Users/"+id) {
			t.Fatalf("created user: %v", created)
		}
		if code, out, _ := c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}`); code != 409 || out["scimType"] != "uniqueness" {
			t.Fatalf("duplicate userName: %d %v, want 409 uniqueness", code, out)
		}
		// RFC 7644 §3.4.2.2 filter, as Okta and Entra send before creating.
		list := c.want("GET", `/Users?filter=userName%20eq%20%22bjensen%22`, "", 200)
		if list["totalResults"] != float64(1) {
			t.Fatalf("filter userName eq: %v", list)
		}
		if l := c.want("GET", `/Users?filter=externalId%20eq%20%22bjensen%22`, "", 200); l["totalResults"] != float64(1) {
			t.Fatalf("filter externalId eq: %v", l)
		}
		if l := c.want("GET", `/Users?filter=userName%20eq%20%22nobody%22`, "", 200); l["totalResults"] != float64(0) {
			t.Fatalf("filter for nobody: %v", l)
		}
		if code, out, _ := c.do("GET", `/Users?filter=userName%20sw%20%22b%22`, ""); code != 400 || out["scimType"] != "invalidFilter" {
			t.Fatalf("unsupported filter: %d %v", code, out)
		}
		// Every answer to an expiring credential says when it expires
		// (this suite's token does not expire, and says nothing).
		robot := s.CreateUser(t, admin, "scim-expiring", "", "admin", "service")
		expiring := scimCall{t, s, s.CreateToken(t, admin, map[string]any{"name": "idp", "user_id": robot, "scopes": []string{"scim"}, "expires_in": "24h"}).Secret}
		if code, _, h := expiring.do("GET", "/Users/"+id, ""); code != 200 || h.Get("Latchkey-Token-Expiration") == "" {
			t.Errorf("a SCIM answer to an expiring admin token: %d without Latchkey-Token-Expiration: %v", code, h)
		}
		if _, _, h := c.do("GET", "/Users/"+id, ""); h.Get("Latchkey-Token-Expiration") != "" {
			t.Errorf("a SCIM answer to a token that never expires names an expiration: %v", h)
		}
		if u := c.want("GET", "/Users/"+id, "", 200); u["userName"] != "bjensen" {
			t.Fatalf("GET user: %v", u)
		}

		// bjensen has a token (an admin made it for her).
		pat := s.CreateToken(t, admin, map[string]any{"name": "laptop", "user_id": id, "scopes": []string{"repo"}, "expires_in": "720h"})
		if meStatus(t, s, pat.Secret) != 200 {
			t.Fatal("bjensen's token does not work")
		}

		// Okta deactivates: PATCH replace with a value object.
		u := c.want("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`, 200)
		if u["active"] != false || meStatus(t, s, pat.Secret) != 401 {
			t.Fatalf("after Okta's deactivation: active=%v, token status %d, want false and 401", u["active"], meStatus(t, s, pat.Secret))
		}
		// Entra ID reactivates: op Replace, path active, value "True".
		c.want("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`, 200)
		if meStatus(t, s, pat.Secret) != 200 {
			t.Fatal("token still refused after reactivation")
		}

		// Group membership drives the role through the mapping.
		g := c.want("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"lk-admins","members":[{"value":"`+id+`"}]}`, 201)
		gid, _ := g["id"].(string)
		if role, _ := roleOf(t, s, admin, "bjensen"); role != "admin" {
			t.Fatalf("role after joining lk-admins: %s", role)
		}
		if u := c.want("GET", "/Users/"+id, "", 200); !strings.Contains(mustJSON(u["groups"]), gid) {
			t.Fatalf("user's groups: %v", u["groups"])
		}
		// Okta adds to and removes from engineering with value paths.
		eng := c.want("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"engineering","members":[]}`, 201)
		eid, _ := eng["id"].(string)
		c.want("PATCH", "/Groups/"+eid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`, 200)
		// Entra ID removes from lk-admins: the role falls back to member.
		c.want("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"`+id+`"}]}]}`, 200)
		if role, susp := roleOf(t, s, admin, "bjensen"); role != "member" || susp {
			t.Fatalf("after leaving lk-admins: role %s suspended %v, want member, active", role, susp)
		}
		// Okta removes the last mapped group: no rule matches, she is suspended.
		c.want("PATCH", "/Groups/"+eid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`, 200)
		if _, susp := roleOf(t, s, admin, "bjensen"); !susp || meStatus(t, s, pat.Secret) != 401 {
			t.Fatalf("after leaving every mapped group: suspended %v, token %d", susp, meStatus(t, s, pat.Secret))
		}
		if l := c.want("GET", `/Groups?filter=displayName%20eq%20%22engineering%22`, "", 200); l["totalResults"] != float64(1) {
			t.Fatalf("group filter: %v", l)
		}

		// Delete: the user and her token are gone.
		c.want("DELETE", "/Users/"+id, "", 204)
		c.want("GET", "/Users/"+id, "", 404)
		if meStatus(t, s, pat.Secret) != 401 {
			t.Fatal("a deleted user's token still works")
		}
		// The same person can be provisioned again (new account, same externalId).
		again := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen","externalId":"bjensen"}`, 201)
		if again["id"] == id || again["externalId"] != "bjensen" {
			t.Fatalf("re-provisioned user: %v", again)
		}
		c.want("DELETE", "/Groups/"+gid, "", 204)
		c.want("GET", "/Groups/"+gid, "", 404)

		// The audit log names the SCIM client's token.
		var audit struct {
			Items []struct {
				Action  string         `json:"action"`
				Details map[string]any `json:"details"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?action=scim.&limit=100", admin, nil, 200, &audit)
		actions := map[string]bool{}
		for _, e := range audit.Items {
			actions[e.Action] = true
			if e.Details["token_id"] == "" || e.Details["token_id"] == nil {
				t.Errorf("%s has no token_id: %v", e.Action, e.Details)
			}
		}
		for _, a := range []string{"scim.user_created", "scim.user_deactivated", "scim.user_activated", "scim.group_created", "scim.group_updated", "scim.user_deleted", "scim.group_deleted"} {
			if !actions[a] {
				t.Errorf("audit lacks %s: %v", a, actions)
			}
		}

		// Discovery endpoints.
		if spc := c.want("GET", "/ServiceProviderConfig", "", 200); mustJSON(spc["patch"]) != `{"supported":true}` {
			t.Errorf("ServiceProviderConfig: %v", spc)
		}
		if rt := c.want("GET", "/ResourceTypes", "", 200); rt["totalResults"] != float64(2) {
			t.Errorf("ResourceTypes: %v", rt)
		}
		if sc := c.want("GET", "/Schemas", "", 200); !strings.Contains(mustJSON(sc), "urn:ietf:params:scim:schemas:core:2.0:User") {
			t.Errorf("Schemas: %v", sc)
		}
	}, "--config", scimConfig(t))
}

func TestSCIMRefusesCallersWithoutAnAdminTokenHoldingScim(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	noScim := scimToken(t, s, admin, "admin:org")
	withScim := scimToken(t, s, admin, "scim")
	for name, tc := range map[string]struct {
		bearer string
		want   int
	}{
		"no token":           {"", 401},
		"forged token":       {"lk_adm_" + strings.Repeat("A", 36), 401},
		"admin without scim": {noScim, 403},
		"login session":      {admin, 403},
	} {
		if code, _, _ := (scimCall{t, s, tc.bearer}).do("GET", "/Users", ""); code != tc.want {
			t.Errorf("%s: %d, want %d", name, code, tc.want)
		}
	}
	// SCIM sees only people who sign in through the provider: never the
	// local owner, whom it could otherwise lock out.
	var me struct {
		User struct{ ID string } `json:"user"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/me", admin, nil, 200, &me)
	c := scimCall{t, s, withScim}
	c.want("GET", "/Users/"+me.User.ID, "", 404)
	c.want("PATCH", "/Users/"+me.User.ID, `{"Operations":[{"op":"replace","path":"active","value":false}]}`, 404)
	c.want("DELETE", "/Users/"+me.User.ID, "", 404)
	if l := c.want("GET", "/Users", "", 200); l["totalResults"] != float64(0) {
		t.Fatalf("SCIM lists local accounts: %v", l)
	}
	if code, out, _ := c.do("POST", "/Users", `{"userName":`); code != 400 || out["scimType"] != "invalidSyntax" {
		t.Fatalf("broken JSON: %d %v", code, out)
	}
}

// TestSCIMDeactivationStopsTokensOnEveryReplica deactivates on replica A and
// expects replica B, whose cache lives an hour, to refuse the token.
func TestSCIMDeactivationStopsTokensOnEveryReplica(t *testing.T) {
	shared := servertest.NewPostgresSchema(t, testenv.PostgresDSN(t))
	a := servertest.StartReplica(t, shared, "--cache-ttl=1h")
	b := servertest.StartReplica(t, shared, "--cache-ttl=1h")
	admin := a.AdminSession(t)
	c := scimCall{t, a, scimToken(t, a, admin, "scim")}
	u := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"leaver"}`, 201)
	id := u["id"].(string)
	pat := a.CreateToken(t, admin, map[string]any{"name": "ci", "user_id": id, "scopes": []string{"repo"}, "expires_in": "720h"})
	if meStatus(t, b, pat.Secret) != 200 { // B caches it
		t.Fatal("token refused on B before deactivation")
	}
	c.want("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`, 200)
	deadline := time.Now().Add(10 * time.Second)
	for meStatus(t, b, pat.Secret) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("replica B still accepts the deactivated user's token after 10s (its cache lives 1h)")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSCIMOfAnAdminNeitherMakesNorUnmakesOwners: through a SCIM token of
// an admin, group membership mapped to owner does not make an owner, and
// an owner cannot be deactivated, replaced, deleted or demoted (the API
// lets only owners change an owner); a SCIM token of an owner can.
func TestSCIMOfAnAdminNeitherMakesNorUnmakesOwners(t *testing.T) {
	s := servertest.Start(t, "--config="+scimConfig(t))
	owner := s.AdminSession(t)
	byAdmin := scimCall{t, s, scimToken(t, s, owner, "scim")}
	ownerRobot := s.CreateUser(t, owner, "scim-owner", "", "owner", "service")
	byOwner := scimCall{t, s, s.CreateToken(t, owner, map[string]any{"name": "idp", "user_id": ownerRobot, "scopes": []string{"scim"}, "no_expiry": true}).Secret}

	user := func(name string) string {
		return byAdmin.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`","externalId":"`+name+`"}`, 201)["id"].(string)
	}
	eve, mallory := user("eve"), user("mallory")
	// The owner's SCIM token makes eve an owner through the mapping.
	g := byOwner.want("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"lk-owners","members":[{"value":"`+eve+`"}]}`, 201)
	gid := g["id"].(string)
	if role, _ := roleOf(t, s, owner, "eve"); role != "owner" {
		t.Fatalf("role through an owner's SCIM token: %s, want owner", role)
	}
	// The admin's cannot make mallory one, nor change the group otherwise
	// (sign-in reads memberships too, so none is stored), nor create another
	// such group with members.
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + mallory + `"}]}]}`},
		{"PATCH", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"` + eve + `\"]"}]}`},
		{"PUT", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"renamed","members":[{"value":"` + eve + `"}]}`},
		{"DELETE", "/Groups/" + gid, ""},
		{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"LK-Owners","members":[{"value":"` + mallory + `"}]}`},
	} {
		if code, out, _ := byAdmin.do(c.method, c.path, c.body); code != 403 || !strings.Contains(mustJSON(out), "owner") {
			t.Errorf("an admin's SCIM %s %s of an owner group: %d %v, want 403", c.method, c.path, code, out)
		}
	}
	g2 := byAdmin.want("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"lk-admins","members":[{"value":"`+mallory+`"}]}`, 201)
	if role, _ := roleOf(t, s, owner, "mallory"); role != "admin" {
		t.Fatalf("mallory through lk-admins: %s, want admin", role)
	}
	// Renaming lk-admins to a name mapped to owner would make her one.
	code, out, _ := byAdmin.do("PUT", "/Groups/"+g2["id"].(string), `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"LK-Owners","members":[{"value":"`+mallory+`"}]}`)
	if code != 403 || !strings.Contains(mustJSON(out), "owner") {
		t.Errorf("an admin's SCIM rename of a group with members to an owner name: %d %v, want 403", code, out)
	}
	// A name no mapping grants is the admin's to give.
	byAdmin.want("PUT", "/Groups/"+g2["id"].(string), `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"lk-admins-renamed","members":[{"value":"`+mallory+`"}]}`, 200)
	if role, _ := roleOf(t, s, owner, "mallory"); role == "owner" {
		t.Fatal("an admin's SCIM token made an owner through the group mapping")
	}
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/Users/" + eve, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`},
		{"PUT", "/Users/" + eve, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"eve2","active":false}`},
		{"DELETE", "/Users/" + eve, ""},
	} {
		if code, out, _ := byAdmin.do(c.method, c.path, c.body); code != 403 || !strings.Contains(mustJSON(out), "owner") {
			t.Errorf("an admin's SCIM %s of an owner: %d %v, want 403 naming the owner rule", c.method, code, out)
		}
	}
	if role, susp := roleOf(t, s, owner, "eve"); role != "owner" || susp {
		t.Fatalf("after an admin's SCIM token tried to change lk-owners: role %s suspended %v, want owner, active", role, susp)
	}
	byOwner.want("DELETE", "/Users/"+eve, "", 204)
}
