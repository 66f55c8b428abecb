package identity_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
)

// filterUsers lists the users a userName filter finds, as Okta and Entra
// ID send it before creating or updating someone.
func filterUsers(c scimCall, userName string) []map[string]any {
	c.t.Helper()
	l := c.want("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), "", 200)
	res, _ := l["Resources"].([]any)
	out := make([]map[string]any, 0, len(res))
	for _, r := range res {
		out = append(out, r.(map[string]any))
	}
	return out
}

// wantOnly fails unless the filter for userName finds exactly the user id.
func wantOnly(c scimCall, userName, id string) map[string]any {
	c.t.Helper()
	found := filterUsers(c, userName)
	if len(found) != 1 || found[0]["id"] != id {
		c.t.Fatalf("filter userName eq %q found %v, want only %s", userName, found, id)
	}
	return found[0]
}

// TestSCIMUserNamesThatNormaliseAlikeStayTwoPeople: josé@corp.com and
// josè@corp.com both become the Latchkey user name jos--corp.com. Each
// filter finds its own person only (ignoring case, never through the
// lossy name), so deactivating the one the identity provider found leaves
// the other working; the userName is answered as sent.
func TestSCIMUserNamesThatNormaliseAlikeStayTwoPeople(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		c := scimCall{t, s, scimToken(t, s, admin, "scim")}
		acute := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"josé@corp.com","externalId":"ext-acute",
			"emails":[{"value":"jose.acute@corp.com","primary":true}]}`, 201)
		grave := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"josè@corp.com","externalId":"ext-grave",
			"emails":[{"value":"jose.grave@corp.com","primary":true}]}`, 201)
		acuteID, graveID := acute["id"].(string), grave["id"].(string)
		if acuteID == graveID || acute["userName"] != "josé@corp.com" || grave["userName"] != "josè@corp.com" {
			t.Fatalf("the second person was merged into the first or renamed: %v / %v", acute, grave)
		}
		var acuteUser, graveUser struct{ Username string }
		s.JSON(t, http.MethodGet, "/api/v1/users/"+acuteID, admin, nil, 200, &acuteUser)
		s.JSON(t, http.MethodGet, "/api/v1/users/"+graveID, admin, nil, 200, &graveUser)
		if acuteUser.Username != "jos--corp.com" || graveUser.Username == acuteUser.Username {
			t.Fatalf("Latchkey user names %q and %q, want jos--corp.com and a distinct one", acuteUser.Username, graveUser.Username)
		}

		for _, tc := range []struct{ userName, id string }{
			{"josé@corp.com", acuteID},
			{"josè@corp.com", graveID},
			{"JOSÉ@corp.com", acuteID}, // caseExact false (RFC 7643 §4.1.1)
			{"JOSÈ@CORP.COM", graveID},
		} {
			if u := wantOnly(c, tc.userName, tc.id); u["userName"] != map[string]string{acuteID: "josé@corp.com", graveID: "josè@corp.com"}[tc.id] {
				t.Errorf("filter %q answers userName %v, want the one sent at creation", tc.userName, u["userName"])
			}
		}
		for _, other := range []string{"jose@corp.com", "jos--corp.com", "josê@corp.com", graveUser.Username} {
			if found := filterUsers(c, other); len(found) != 0 {
				t.Errorf("filter userName eq %q found %v, want nobody", other, found)
			}
		}
		// The same userName in other case is taken: RFC 7644 §3.3 uniqueness.
		if code, out, _ := c.do("POST", "/Users", `{"userName":"JOSÈ@corp.com"}`); code != 409 || out["scimType"] != "uniqueness" {
			t.Fatalf("POST of a taken userName in other case: %d %v, want 409 uniqueness", code, out)
		}

		acuteTok := s.CreateToken(t, admin, map[string]any{"name": "laptop", "user_id": acuteID, "scopes": []string{"repo"}, "expires_in": "720h"})
		graveTok := s.CreateToken(t, admin, map[string]any{"name": "laptop", "user_id": graveID, "scopes": []string{"repo"}, "expires_in": "720h"})
		// Entra ID deactivates josè: it finds him by the filter, then patches by id.
		found := wantOnly(c, "josè@corp.com", graveID)
		c.want("PATCH", "/Users/"+found["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, 200)
		if meStatus(t, s, graveTok.Secret) != 401 || meStatus(t, s, acuteTok.Secret) != 200 {
			t.Fatalf("after deactivating josè: his token %d (want 401), josé's %d (want 200)", meStatus(t, s, graveTok.Secret), meStatus(t, s, acuteTok.Secret))
		}
		if u := c.want("GET", "/Users/"+acuteID, "", 200); u["active"] != true {
			t.Fatalf("josé after josè's deactivation: %v", u)
		}

		// A PATCH of other attributes leaves the userName as sent; one of the
		// userName records the new one, by id.
		u := c.want("PATCH", "/Users/"+graveID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"jg@corp.com"}]}`, 200)
		if u["userName"] != "josè@corp.com" {
			t.Fatalf("userName after an email PATCH: %v", u["userName"])
		}
		u = c.want("PATCH", "/Users/"+graveID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"José.G@corp.com"}]}`, 200)
		if u["id"] != graveID || u["userName"] != "José.G@corp.com" {
			t.Fatalf("userName PATCH: %v", u)
		}
		wantOnly(c, "josé.g@corp.com", graveID)
		wantOnly(c, "josé@corp.com", acuteID)
		if found := filterUsers(c, "josè@corp.com"); len(found) != 0 {
			t.Fatalf("the old userName still finds %v", found)
		}
		// A PUT in other case keeps the Latchkey user name and stores the case sent.
		u = c.want("PUT", "/Users/"+acuteID, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"JOSÉ@corp.com","active":true}`, 200)
		s.JSON(t, http.MethodGet, "/api/v1/users/"+acuteID, admin, nil, 200, &acuteUser)
		if u["userName"] != "JOSÉ@corp.com" || acuteUser.Username != "jos--corp.com" {
			t.Fatalf("PUT in other case: userName %v, user name %q", u["userName"], acuteUser.Username)
		}
		// Renaming onto the other person's userName is a conflict, not a merge.
		if code, out, _ := c.do("PUT", "/Users/"+graveID, `{"userName":"josé@CORP.com"}`); code != 409 || out["scimType"] != "uniqueness" {
			t.Fatalf("PUT onto another person's userName: %d %v, want 409 uniqueness", code, out)
		}
		// Deleting one by id leaves the other.
		c.want("DELETE", "/Users/"+graveID, "", 204)
		if meStatus(t, s, acuteTok.Secret) != 200 {
			t.Fatal("josé's token stopped when josè was deleted")
		}
		wantOnly(c, "josé@corp.com", acuteID)
	}, "--config", scimConfig(t))
}

// TestSSOFirstSignInClaimsOnlyTheSCIMAccountOfItsOwnUserName: two people
// provisioned by SCIM whose userNames normalise alike, neither signed in
// yet: each first sign-in claims the account of its own user name (in any
// case), and a third whose name normalises alike gets an account of its
// own rather than either of theirs.
func TestSSOFirstSignInClaimsOnlyTheSCIMAccountOfItsOwnUserName(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	acuteID := c.want("POST", "/Users", `{"userName":"josé@corp.com"}`, 201)["id"].(string)
	graveID := c.want("POST", "/Users", `{"userName":"josè@corp.com"}`, 201)["id"].(string)

	for _, tc := range []struct{ sub, name, want string }{
		{"sub-grave", "JOSÈ@corp.com", graveID}, // signs in first, and in other case
		{"sub-acute", "josé@corp.com", acuteID},
		{"sub-circumflex", "josê@corp.com", ""}, // nobody provisioned: a new account
	} {
		m.QueueUser(claimsUser{tc.sub, map[string]any{"preferred_username": tc.name, "groups": []string{"engineering"}}})
		code, body, sess := signIn(t, s, "corp")
		if code != http.StatusOK || sess == "" {
			t.Fatalf("%s signs in: %d %.300s", tc.name, code, between(body, "<main", "</main>"))
		}
		_, who := whoami(t, s, sess)
		switch {
		case tc.want != "" && who.User.ID != tc.want:
			t.Errorf("%s signed in to %s (%s), want the account provisioned for that userName, %s", tc.name, who.User.ID, who.User.Username, tc.want)
		case tc.want == "" && (who.User.ID == acuteID || who.User.ID == graveID):
			t.Errorf("%s signed in to another person's account %s (%s)", tc.name, who.User.ID, who.User.Username)
		}
	}
	// The account made at sign-in keeps its provider user name: SCIM finds it.
	if found := filterUsers(c, "josê@corp.com"); len(found) != 1 || found[0]["id"] == acuteID || found[0]["id"] == graveID {
		t.Fatalf("filter for the account created at sign-in: %v", found)
	}
}

// TestSCIMFindsAccountsProvisionedBeforeUserNamesWereKept: an account
// provisioned before Latchkey kept the IdP's userName has none stored.
// Its provider's filter must still find it by a plain UPN (else, after an
// upgrade, Entra ID's or Okta's next sync finds nobody and its POST
// answers 409), but never by a name that only normalises alike.
func TestSCIMFindsAccountsProvisionedBeforeUserNamesWereKept(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		c := scimCall{t, s, scimToken(t, s, admin, "scim")}
		legacy := func(userName string) string {
			t.Helper()
			u := c.want("POST", "/Users", `{"userName":"`+userName+`","emails":[{"value":"other.address@corp.com","primary":true}]}`, 201)
			id := u["id"].(string)
			if _, err := s.App.Store.UpdateUser(t.Context(), id, func(u *store.User) error {
				u.IdPUserName = "" // as an account from before the upgrade
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		kim := legacy("kim.lee@contoso.com")
		jose := legacy("josé@corp.com")

		wantOnly(c, "kim.lee@contoso.com", kim)
		wantOnly(c, "KIM.LEE@Contoso.com", kim)
		for _, other := range []string{"josé@corp.com", "josè@corp.com", "kim.lee+x@contoso.com"} {
			if found := filterUsers(c, other); len(found) != 0 {
				t.Errorf("filter userName eq %q found %v, want nobody (legacy account %s has no userName stored)", other, found, jose)
			}
		}
	})
}
