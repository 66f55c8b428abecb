package identity_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMGroupListPages: GET /scim/v2/Groups pages as RFC 7644 §3.4.2.4
// says (totalResults is every group, startIndex echoes the request, a
// start past the end and count=0 answer no resources), and a client that
// asks for groups without their members (excludedAttributes=members, as
// Entra ID and Okta send it, or attributes without members) gets none.
func TestSCIMGroupListPages(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	alice := c.want("POST", "/Users", `{"userName":"alice"}`, 201)["id"].(string)
	bob := c.want("POST", "/Users", `{"userName":"bob"}`, 201)["id"].(string)
	const groups = 25
	for i := range groups {
		c.want("POST", "/Groups", mustJSON(map[string]any{"displayName": fmt.Sprintf("team-%02d", i),
			"members": []map[string]string{{"value": alice}, {"value": bob}}}), 201)
	}
	names := func(l map[string]any) []string {
		var out []string
		for _, r := range l["Resources"].([]any) {
			out = append(out, r.(map[string]any)["displayName"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		query       string
		start, n    int
		first, last string
	}{
		{"", 1, groups, "team-00", "team-24"},
		{"?startIndex=21&count=10", 21, 5, "team-20", "team-24"},
		{"?startIndex=3&count=2", 3, 2, "team-02", "team-03"},
		{"?startIndex=26&count=10", 26, 0, "", ""},
		{"?startIndex=1000000&count=10", 1000000, 0, "", ""},
		{"?count=0", 1, 0, "", ""},
		{"?startIndex=0&count=-1", 1, 0, "", ""},
	} {
		l := c.want("GET", "/Groups"+tc.query, "", 200)
		got := names(l)
		if l["totalResults"] != float64(groups) || l["startIndex"] != float64(tc.start) || l["itemsPerPage"] != float64(tc.n) || len(got) != tc.n {
			t.Errorf("GET /Groups%s: totalResults %v startIndex %v itemsPerPage %v, %d resources; want %d, %d, %d, %d",
				tc.query, l["totalResults"], l["startIndex"], l["itemsPerPage"], len(got), groups, tc.start, tc.n, tc.n)
			continue
		}
		if tc.n > 0 && (got[0] != tc.first || got[len(got)-1] != tc.last) {
			t.Errorf("GET /Groups%s: %s ... %s, want %s ... %s", tc.query, got[0], got[len(got)-1], tc.first, tc.last)
		}
	}
	// Members by default, in every group of the page.
	for _, r := range c.want("GET", "/Groups?count=3", "", 200)["Resources"].([]any) {
		if ms, _ := r.(map[string]any)["members"].([]any); len(ms) != 2 {
			t.Errorf("GET /Groups: %v has members %v, want alice and bob", r.(map[string]any)["displayName"], ms)
		}
	}
	// Without members when asked, filtered or not.
	for _, q := range []string{
		"?excludedAttributes=members",
		"?excludedAttributes=Members&startIndex=5&count=3",
		"?excludedAttributes=" + url.QueryEscape("urn:ietf:params:scim:schemas:core:2.0:Group:members"),
		"?excludedAttributes=" + url.QueryEscape("externalId,members"),
		"?attributes=displayName",
		"?filter=" + url.QueryEscape(`displayName eq "team-07"`) + "&excludedAttributes=members",
	} {
		l := c.want("GET", "/Groups"+q, "", 200)
		rs := l["Resources"].([]any)
		if len(rs) == 0 {
			t.Errorf("GET /Groups%s: no resources", q)
		}
		for _, r := range rs {
			g := r.(map[string]any)
			if _, ok := g["members"]; ok || g["id"] == nil || g["displayName"] == nil {
				t.Errorf("GET /Groups%s: %v, want the group with its id and displayName and no members", q, g)
				break
			}
		}
	}
	// attributes naming members, and excluding another attribute, keep them.
	for _, q := range []string{"?attributes=displayName,members&count=1", "?excludedAttributes=externalId&count=1"} {
		r := c.want("GET", "/Groups"+q, "", 200)["Resources"].([]any)[0].(map[string]any)
		if ms, _ := r["members"].([]any); len(ms) != 2 {
			t.Errorf("GET /Groups%s: %v, want its two members", q, r)
		}
	}
}
