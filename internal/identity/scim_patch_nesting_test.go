package identity_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMPathlessPatchNamesAttributesNotNestedOperations: in a PatchOp
// without a path, the value's keys are attribute paths (RFC 7644 §3.5.2);
// an empty key names no attribute. Read as another path-less operation, it
// let a body of nested {"":{"":...}} (under the 1 MiB limit, at the JSON
// decoder's depth of 10,000) be decoded again at every level, seconds of
// CPU per request, and applied changes no attribute path names.
func TestSCIMPathlessPatchNamesAttributesNotNestedOperations(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	id := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nia","active":true}`, 201)["id"].(string)
	gid := c.want("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"engineering","members":[{"value":"`+id+`"}]}`, 201)["id"].(string)

	deep := strings.Repeat(`{"":`, 9000) + `{"active":false}` + strings.Repeat(`}`, 9000)
	for _, call := range []struct{ path, body string }{
		{"/Users/" + id, `{"Operations":[{"op":"replace","value":{"":{"active":false}}}]}`},
		{"/Users/" + id, `{"Operations":[{"op":"replace","value":` + deep + `}]}`},
		{"/Groups/" + gid, `{"Operations":[{"op":"replace","value":{"":{"members":[]}}}]}`},
		{"/Groups/" + gid, `{"Operations":[{"op":"replace","value":` + deep + `}]}`},
	} {
		code, out, _ := c.do("PATCH", call.path, call.body)
		if code != 400 || out["scimType"] != "invalidPath" {
			t.Errorf("PATCH %s with an empty attribute name (%d bytes): %d %.200v, want 400 invalidPath", call.path, len(call.body), code, out)
		}
	}
	if u := c.want("GET", "/Users/"+id, "", 200); u["active"] != true {
		t.Errorf("a patch naming no attribute deactivated the user: %v", u)
	}
	if g := c.want("GET", "/Groups/"+gid, "", 200); len(g["members"].([]any)) != 1 {
		t.Errorf("a patch naming no attribute emptied the group: %v", g)
	}
}
