package identity_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
)

// The same name to a person and to an identity provider, in the two
// Unicode normal forms: é as one code point (NFC) or e and a combining
// acute accent (NFD).
const (
	joseNFC = "jos\u00e9@corp.com"
	joseNFD = "jose\u0301@corp.com"
	reneNFC = "ren\u00e9@corp.com"
	reneNFD = "rene\u0301@corp.com"
)

// TestSCIMUserNameIsOneNameInEitherUnicodeNormalForm: a userName created
// in one normal form is found by a filter in the other, and a POST of the
// other is the same user (409), never a second account for one person. The
// userName is kept in NFC, and PUT and PATCH normalise it too.
func TestSCIMUserNameIsOneNameInEitherUnicodeNormalForm(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		c := scimCall{t, s, scimToken(t, s, admin, "scim")}
		for _, tc := range []struct{ create, other string }{{joseNFC, joseNFD}, {reneNFD, reneNFC}} {
			u := c.want("POST", "/Users", mustJSON(map[string]any{"userName": tc.create}), 201)
			id := u["id"].(string)
			wantOnly(c, tc.create, id)
			wantOnly(c, tc.other, id)
			if code, out, _ := c.do("POST", "/Users", mustJSON(map[string]any{"userName": tc.other})); code != 409 || out["scimType"] != "uniqueness" {
				t.Errorf("POST %q after %q: %d %v, want 409 uniqueness", tc.other, tc.create, code, out)
			}
		}
		if found := filterUsers(c, reneNFD); len(found) != 1 || found[0]["userName"] != reneNFC {
			t.Errorf("userName created as NFD answered as %v, want NFC %q", found, reneNFC)
		}

		// PUT and PATCH with a userName in NFD.
		ann := c.want("POST", "/Users", `{"userName":"ann@corp.com"}`, 201)["id"].(string)
		c.want("PUT", "/Users/"+ann, mustJSON(map[string]any{"userName": "zo\u0308e@corp.com"}), 200)
		wantOnly(c, "z\u00f6e@corp.com", ann)
		c.want("PATCH", "/Users/"+ann, mustJSON(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []map[string]any{{"op": "replace", "path": "userName", "value": "noe\u0308l@corp.com"}}}), 200)
		if got := wantOnly(c, "no\u00ebl@corp.com", ann); got["userName"] != "no\u00ebl@corp.com" {
			t.Errorf("PATCHed userName answered as %q, want NFC", got["userName"])
		}

		// An account whose userName was stored in NFD before Latchkey
		// normalised is found in either form.
		old := c.want("POST", "/Users", `{"userName":"old@corp.com"}`, 201)["id"].(string)
		if _, err := s.App.Store.UpdateUser(t.Context(), old, func(u *store.User) error {
			u.IdPUserName = "chloe\u0301@corp.com"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		wantOnly(c, "chloe\u0301@corp.com", old)
		wantOnly(c, "chlo\u00e9@corp.com", old)
		if code, out, _ := c.do("POST", "/Users", mustJSON(map[string]any{"userName": "chlo\u00e9@corp.com"})); code != 409 {
			t.Errorf("POST the NFC form of a userName stored in NFD: %d %v, want 409", code, out)
		}
		// Its provider's PUT in NFC keeps the account's user name.
		if got := c.want("PUT", "/Users/"+old, mustJSON(map[string]any{"userName": "chlo\u00e9@corp.com"}), 200); got["userName"] != "chlo\u00e9@corp.com" {
			t.Errorf("PUT in NFC of a userName stored in NFD: %v", got)
		}
		var u struct{ Username string }
		s.JSON(t, http.MethodGet, "/api/v1/users/"+old, admin, nil, 200, &u)
		if u.Username != "old-corp.com" {
			t.Errorf("after a PUT of the same userName in NFC the user name is %q, want old-corp.com unchanged", u.Username)
		}
	})
}

// TestSSOSignInInOtherNormalFormClaimsTheSCIMAccount: a provider that
// provisions a person in NFC and names them in NFD at sign-in (or the
// other way round) signs them in to the provisioned account.
func TestSSOSignInInOtherNormalFormClaimsTheSCIMAccount(t *testing.T) {
	m := startIdP(t)
	s := startLatchkey(t, m, providerOpts{})
	admin := s.AdminSession(t)
	c := scimCall{t, s, scimToken(t, s, admin, "scim")}
	for _, tc := range []struct{ provisioned, signIn string }{{joseNFC, joseNFD}, {reneNFD, reneNFC}} {
		id := c.want("POST", "/Users", mustJSON(map[string]any{"userName": tc.provisioned}), 201)["id"].(string)
		m.QueueUser(claimsUser{"sub-" + tc.signIn, map[string]any{"preferred_username": tc.signIn, "groups": []string{"engineering"}}})
		code, body, sess := signIn(t, s, "corp")
		if code != http.StatusOK || sess == "" {
			t.Fatalf("%q signs in: %d %.300s", tc.signIn, code, between(body, "<main", "</main>"))
		}
		if _, who := whoami(t, s, sess); who.User.ID != id {
			t.Errorf("%q signed in to %s (%s), want the account provisioned as %q, %s", tc.signIn, who.User.ID, who.User.Username, tc.provisioned, id)
		}
	}
}
