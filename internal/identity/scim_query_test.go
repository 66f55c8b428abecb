package identity_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSCIMRefusesARepeatedQueryParameter: a single-valued SCIM query
// parameter given twice is refused with 400 invalidValue naming it, never
// read first-wins or last-wins: a proxy or WAF that reads the other value
// would see another request than the one answered (parameter pollution).
func TestSCIMRefusesARepeatedQueryParameter(t *testing.T) {
	s := servertest.Start(t, "--config", scimConfig(t))
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	alice := c.want("POST", "/Users", `{"userName":"alice"}`, 201)["id"].(string)
	c.want("POST", "/Users", `{"userName":"bob"}`, 201)
	for _, tc := range []struct{ path, param string }{
		{`/Users?filter=userName%20eq%20%22alice%22&filter=userName%20eq%20%22bob%22`, "filter"},
		{`/Users?startIndex=1&startIndex=2`, "startIndex"},
		{`/Users?count=1&count=100`, "count"},
		{`/Users?attributes=userName&attributes=emails`, "attributes"},
		{`/Users?excludedAttributes=groups&excludedAttributes=emails`, "excludedAttributes"},
		{`/Users?sortBy=userName&sortBy=id`, "sortBy"},
		{`/Users?count=1&sortOrder=ascending&sortOrder=descending`, "sortOrder"},
		{`/Users/` + alice + `?attributes=userName&attributes=emails`, "attributes"},
		{`/Groups?filter=displayName%20eq%20%22a%22&filter=displayName%20eq%20%22b%22`, "filter"},
		{`/Groups?count=1&count=2`, "count"},
	} {
		code, out, _ := c.do("GET", tc.path, "")
		detail, _ := out["detail"].(string)
		if code != http.StatusBadRequest || out["scimType"] != "invalidValue" || out["status"] != "400" ||
			!strings.Contains(detail, "query parameter "+tc.param+" was given 2 times; give it once") {
			t.Errorf("GET %s: %d %v, want 400 invalidValue naming %s", tc.path, code, out, tc.param)
		}
	}
	// Given once, each still works.
	if l := c.want("GET", `/Users?filter=userName%20eq%20%22alice%22&count=5&startIndex=1`, "", 200); l["totalResults"] != float64(1) {
		t.Errorf("a filter given once: %v", l)
	}
}
