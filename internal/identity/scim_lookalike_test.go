package identity_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestALookAlikeUserNameIsAnotherPerson: userNames compare ignoring case,
// but Unicode case folding also equates the Kelvin sign U+212A with "k" and
// the long s U+017F with "s". A person whose provider lets them choose
// "adminſ@corp.com" (or "\u212Aim@corp.com") must not be found by a SCIM
// filter for admins@corp.com (kim@corp.com), nor sign in to the account
// provisioned for them: a look-alike is another person. Case still folds
// where no ASCII letter is involved (JOSÉ is josé).
func TestALookAlikeUserNameIsAnotherPerson(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	for _, tc := range []struct{ provisioned, lookalike string }{
		{"admins@corp.com", "admin\u017F@corp.com"},
		{"kim@corp.com", "\u212Aim@corp.com"},
	} {
		id := c.want("POST", "/Users", mustJSON(map[string]any{"userName": tc.provisioned}), 201)["id"].(string)
		list := c.want("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+tc.lookalike+`"`), "", 200)
		if n, _ := list["totalResults"].(float64); n != 0 {
			t.Errorf("filter userName eq %q found %v; want nobody (the user is %q)", tc.lookalike, list["Resources"], tc.provisioned)
		}
		if code, out, _ := c.do("POST", "/Users", mustJSON(map[string]any{"userName": tc.lookalike})); code != http.StatusConflict {
			t.Errorf("POST a user %q while %q exists: %d %v; want 409", tc.lookalike, tc.provisioned, code, out)
		}
		m.QueueUser(claimsUser{"sub-" + tc.lookalike, map[string]any{"preferred_username": tc.lookalike, "groups": []string{"engineering"}}})
		code, _, sess := signIn(t, s, "corp")
		if code == http.StatusOK && sess != "" {
			if _, who := whoami(t, s, sess); who.User.ID == id {
				t.Errorf("%q signed in to the account provisioned for %q", tc.lookalike, tc.provisioned)
			}
		}
	}
	// Non-ASCII letters still fold: the provider may send either case.
	id := c.want("POST", "/Users", mustJSON(map[string]any{"userName": "jos\u00e9@corp.com"}), 201)["id"].(string)
	list := c.want("GET", "/Users?filter="+url.QueryEscape(`userName eq "JOS\u00c9@CORP.COM"`), "", 200)
	if rs, _ := list["Resources"].([]any); len(rs) != 1 || rs[0].(map[string]any)["id"] != id {
		t.Errorf("filter userName eq JOSÉ@CORP.COM found %v; want the user josé@corp.com", list["Resources"])
	}
}

// TestALookAlikeHeldFirstIsNamedInTheRefusal: one live account per
// userName ignoring case, and a look-alike ("admin\u017F@corp.com") shares
// that key with admins@corp.com, so whichever comes second is refused. The
// refusal must say so: a SCIM 409 claiming that "admins@corp.com" exists,
// which a filter for it then does not find, sends a provider and its admin
// looking for a user that is not there; a sign-in told "sign in again"
// fails the same way at every try.
func TestALookAlikeHeldFirstIsNamedInTheRefusal(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	c.want("POST", "/Users", mustJSON(map[string]any{"userName": "admin\u017F@corp.com"}), 201)
	code, out, _ := c.do("POST", "/Users", mustJSON(map[string]any{"userName": "admins@corp.com"}))
	if detail, _ := out["detail"].(string); code != http.StatusConflict || !strings.Contains(detail, "admin\u017F@corp.com") || strings.Contains(detail, "already exists") {
		t.Errorf("POST userName admins@corp.com while admin\u017F@corp.com exists: %d %q; want 409 naming the look-alike's userName", code, detail)
	}
	c.want("POST", "/Users", mustJSON(map[string]any{"userName": "bo\u212A@corp.com"}), 201)
	m.QueueUser(claimsUser{"sub-bok", map[string]any{"preferred_username": "bok@corp.com", "groups": []string{"engineering"}}})
	code, body, sess := signIn(t, s, "corp")
	if alert := between(body, `class="alert`, "</div>"); code != http.StatusConflict || sess != "" || strings.Contains(alert, "sign in again") || !strings.Contains(alert, "admin") {
		t.Errorf("first sign-in of bok@corp.com while bo\u212A@corp.com is provisioned: %d, session %q, want 409 telling them to ask an admin, not to sign in again: %s", code, sess, alert)
	}
}
