package identity_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMListPaginationSurvivesAnyNumbers sends the startIndex and count
// values a fuzzing client (or a buggy one) sends: the answer is always a
// well-formed page, never a dropped connection or a 500.
func TestSCIMListPaginationSurvivesAnyNumbers(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	for i := range 3 {
		c.want("POST", "/Users", fmt.Sprintf(`{"userName":"pager%d"}`, i), 201)
	}
	for _, tc := range []struct {
		query      string
		start, per int
	}{
		{"startIndex=2&count=9223372036854775807", 2, 2},
		{"startIndex=9223372036854775807&count=9223372036854775807", 9223372036854775807, 0},
		{"startIndex=99999999999999999999999&count=5", 9223372036854775807, 0},
		{"startIndex=1&count=99999999999999999999999", 1, 3},
		{"startIndex=-5&count=2", 1, 2},
		{"startIndex=0&count=-1", 1, 0}, // RFC 7644 §3.4.2.4: a negative count is 0
		{"startIndex=3&count=1", 3, 1},
		{"startIndex=4", 4, 0},
	} {
		code, out, _ := c.do("GET", "/Users?"+tc.query, "")
		if code != http.StatusOK {
			t.Errorf("%s: %d %v, want 200", tc.query, code, out)
			continue
		}
		res, _ := out["Resources"].([]any)
		if out["totalResults"] != float64(3) || out["startIndex"] != float64(tc.start) || out["itemsPerPage"] != float64(tc.per) || len(res) != tc.per {
			t.Errorf("%s: totalResults %v startIndex %v itemsPerPage %v (%d resources), want 3, %d, %d",
				tc.query, out["totalResults"], out["startIndex"], out["itemsPerPage"], len(res), tc.start, tc.per)
		}
	}
	if code, out, _ := c.do("GET", "/Groups?count=9223372036854775807&startIndex=2", ""); code != http.StatusOK {
		t.Errorf("groups with a huge count: %d %v", code, out)
	}
}

// TestSCIMFilterWithAnEmptyValueMatchesNobody: `userName eq ""` must not
// answer every user, or a client looking up a user with an empty name
// would take the first user listed for its own.
func TestSCIMFilterWithAnEmptyValueMatchesNobody(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	c.want("POST", "/Users", `{"userName":"alice","externalId":"ext-alice"}`, 201)
	for _, f := range []string{`userName eq ""`, `externalId eq ""`, `USERNAME EQ ""`} {
		l := c.want("GET", "/Users?filter="+strings.ReplaceAll(strings.ReplaceAll(f, " ", "%20"), `"`, "%22"), "", 200)
		if l["totalResults"] != float64(0) {
			t.Errorf("filter %s: %v users, want 0", f, l["totalResults"])
		}
	}
	// A caller without the scim scope learns nothing, even from an empty filter.
	other := scimCall{t, s, scimToken(t, s, admin, "admin:org")}
	for _, path := range []string{`/Users?filter=userName%20eq%20%22%22`, `/Groups?filter=displayName%20eq%20%22%22`} {
		if code, _, _ := other.do("GET", path, ""); code != http.StatusForbidden {
			t.Errorf("%s without the scim scope: %d, want 403", path, code)
		}
	}
	if l := c.want("GET", `/Groups?filter=displayName%20eq%20%22%22`, "", 200); l["totalResults"] != float64(0) {
		t.Errorf("groups with an empty displayName filter: %v, want 0", l["totalResults"])
	}
}

// TestSCIMPatchUserAcceptsEntraProfileUpdates sends the PATCH requests
// Entra ID sends when a user's attributes change in the directory: several
// operations at once, on attributes Latchkey keeps and on some it does not.
// A deactivation in the same request must not be lost to a 400.
func TestSCIMPatchUserAcceptsEntraProfileUpdates(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	u := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"kim@contoso.com","externalId":"kim",
		"emails":[{"value":"kim@contoso.com","type":"work","primary":true}],"active":true}`, 201)
	id := u["id"].(string)
	pat := s.CreateToken(t, admin, map[string]any{"name": "laptop", "user_id": id, "scopes": []string{"repo"}, "expires_in": "720h"})

	// Entra ID: a profile update (name, display name, email, externalId).
	out := c.want("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"kim.lee@contoso.com"},
		{"op":"Replace","path":"name.familyName","value":"Lee"},
		{"op":"Add","path":"displayName","value":"Kim Lee"},
		{"op":"Replace","path":"externalId","value":"kim.lee"},
		{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"R&D"}]}`, 200)
	if mustJSON(out["emails"]) != `[{"primary":true,"type":"work","value":"kim.lee@contoso.com"}]` || out["externalId"] != "kim.lee" || out["active"] != true {
		t.Fatalf("after Entra's profile update: %v", out)
	}
	if meStatus(t, s, pat.Secret) != http.StatusOK {
		t.Fatal("a profile update stopped the user's token")
	}
	if l := c.want("GET", `/Users?filter=externalId%20eq%20%22kim.lee%22`, "", 200); l["totalResults"] != float64(1) {
		t.Fatalf("the new externalId does not find the user: %v", l)
	}

	// Entra ID: a deactivation sent with another attribute.
	out = c.want("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"name.givenName","value":"Kim"},
		{"op":"Replace","path":"active","value":"False"}]}`, 200)
	if out["active"] != false || meStatus(t, s, pat.Secret) != http.StatusUnauthorized {
		t.Fatalf("deactivation with a name change: active %v, token %d, want false and 401", out["active"], meStatus(t, s, pat.Secret))
	}

	// Okta: path-less value object, userName included. The userName is
	// answered as sent; the Latchkey user name follows it.
	out = c.want("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"replace","value":{"userName":"kim.lee@contoso.com","active":true,"name":{"givenName":"Kim"}}}]}`, 200)
	if out["userName"] != "kim.lee@contoso.com" || out["active"] != true || meStatus(t, s, pat.Secret) != http.StatusOK {
		t.Fatalf("Okta's replace: %v", out)
	}
	if code, _, _ := s.Do(t, http.MethodGet, "/api/v1/users/kim.lee-contoso.com", admin, nil); code != http.StatusOK {
		t.Fatalf("the user name did not follow the userName: GET /api/v1/users/kim.lee-contoso.com = %d", code)
	}

	// Remove the externalId and the email.
	out = c.want("PATCH", "/Users/"+id, `{"Operations":[{"op":"remove","path":"externalId"},{"op":"Remove","path":"emails[type eq \"work\"].value"}]}`, 200)
	if _, ok := out["externalId"]; ok || out["emails"] != nil {
		t.Fatalf("after removing externalId and email: %v", out)
	}

	// What cannot be applied says why, in RFC 7644 §3.12 form.
	for body, scimType := range map[string]string{
		`{"Operations":[{"op":"remove"}]}`:                                  "noTarget",
		`{"Operations":[{"op":"replace","path":"active","value":"maybe"}]}`: "invalidValue",
		`{"Operations":[{"op":"remove","path":"userName"}]}`:                "mutability",
		`{"Operations":[{"op":"move","path":"active","value":false}]}`:      "invalidSyntax",
		`{"Operations":[{"op":"replace","path":"userName","value":42}]}`:    "invalidValue",
	} {
		if code, out, _ := c.do("PATCH", "/Users/"+id, body); code != 400 || out["scimType"] != scimType || out["status"] != "400" {
			t.Errorf("%s: %d %v, want 400 %s", body, code, out, scimType)
		}
	}
	if u := c.want("GET", "/Users/"+id, "", 200); u["active"] != true || u["userName"] != "kim.lee@contoso.com" {
		t.Errorf("refused patches changed the user: %v", u)
	}
}

// TestSCIMBodyTooLargeIsRefusedAs413: a body past the limit is a 413 with
// an RFC 7644 §3.12 error, not a syntax error.
func TestSCIMBodyTooLargeIsRefusedAs413(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	code, out, _ := c.do("POST", "/Users", `{"userName":"`+strings.Repeat("a", 2<<20)+`"}`)
	if code != http.StatusRequestEntityTooLarge || out["status"] != "413" {
		t.Fatalf("a 2 MiB body: %d %v, want 413", code, out)
	}
}
