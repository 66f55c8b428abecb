package identity_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMGroupPatchAddsEachMemberOnceAndRemovesAList pins the member
// arithmetic of a group PATCH, which works on sets so that a 1 MiB patch
// (some 58,000 members) costs milliseconds, not seconds: an add keeps the
// members' order and names each member once, however often it is listed;
// a remove drops every listed member and ignores the unknown.
func TestSCIMGroupPatchAddsEachMemberOnceAndRemovesAList(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	ids := map[string]string{}
	for _, name := range []string{"ann", "bob", "cat"} {
		u := c.want("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`"}`, 201)
		ids[name], _ = u["id"].(string)
	}
	refs := func(names ...string) string {
		var out []string
		for _, n := range names {
			id, ok := ids[n]
			if !ok {
				id = n
			}
			out = append(out, `{"value":"`+id+`"}`)
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	patch := func(op, value string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"` + op + `","path":"members","value":` + value + `}]}`
	}
	members := func(g map[string]any) []string {
		var out []string
		list, _ := g["members"].([]any)
		for _, m := range list {
			id, _ := m.(map[string]any)["value"].(string)
			for n, v := range ids {
				if v == id {
					id = n
				}
			}
			out = append(out, id)
		}
		return out
	}

	g := c.want("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"engineering","members":`+refs("ann")+`}`, 201)
	gid, _ := g["id"].(string)
	g = c.want("PATCH", "/Groups/"+gid, patch("add", refs("bob", "ann", "bob", "cat", "cat")), 200)
	if got := fmt.Sprint(members(g)); got != "[ann bob cat]" {
		t.Fatalf("after add: members %s, want [ann bob cat]", got)
	}
	g = c.want("PATCH", "/Groups/"+gid, patch("remove", refs("cat", "bob", "cat", "nobody")), 200)
	if got := fmt.Sprint(members(g)); got != "[ann]" {
		t.Fatalf("after remove: members %s, want [ann]", got)
	}

	// A patch as large as a body may be, naming unknown users, is refused
	// as a whole; the group is unchanged.
	var many []string
	for i := range 58_000 {
		many = append(many, fmt.Sprint(i))
	}
	if code, out, _ := c.do("PATCH", "/Groups/"+gid, patch("add", refs(many...))); code != 400 {
		t.Fatalf("large patch of unknown members: %d %v, want 400", code, out)
	}
	if got := fmt.Sprint(members(c.want("GET", "/Groups/"+gid, "", 200))); got != "[ann]" {
		t.Fatalf("after the refused patch: members %s, want [ann]", got)
	}
}
