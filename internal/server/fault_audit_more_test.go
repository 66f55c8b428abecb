package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// auditFault makes the audit inserts of one PostgreSQL schema fail as a
// connection ended by a restart or pg_terminate_backend does (57P01),
// through a trigger on audit_events.
type auditFault struct {
	conn *pgx.Conn
}

func newAuditFault(t *testing.T, schemaDSN string) *auditFault {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), schemaDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return &auditFault{conn: conn}
}

// set makes audit inserts fail (on) or succeed again.
func (f *auditFault) set(t *testing.T, on bool) {
	t.Helper()
	q := `DROP TRIGGER IF EXISTS fault_audit ON audit_events`
	if on {
		q = `CREATE OR REPLACE FUNCTION fault_audit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = '57P01'; END $$;
			CREATE TRIGGER fault_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fault_audit()`
	}
	if _, err := f.conn.Exec(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// during runs do with audit inserts failing, and returns its answer.
func (f *auditFault) during(t *testing.T, do func() (int, string)) (int, string) {
	t.Helper()
	f.set(t, true)
	defer f.set(t, false)
	return do()
}

// wantBothOrNeither fails t unless the change and its audit event were
// stored together or not at all, and the answer says which.
func wantBothOrNeither(t *testing.T, st int, body string, made, event bool) {
	t.Helper()
	t.Logf("answer %d %.300s; change made: %v; audit event: %v", st, body, made, event)
	if made != event {
		t.Errorf("the change made: %v, its audit event stored: %v (answer %d); want both or neither", made, event, st)
	}
	if st < 300 && !made {
		t.Errorf("answered %d but the change was not made", st)
	}
	if st >= 500 && made {
		t.Errorf("answered %d but the change was made", st)
	}
}

// auditCount counts the events named action (about target, when given).
func auditCount(t *testing.T, s *servertest.Server, admin, action, target string) int {
	t.Helper()
	var out struct {
		Items []map[string]any `json:"items"`
	}
	q := "/api/v1/audit?limit=500&action=" + url.QueryEscape(action)
	if target != "" {
		q += "&target_id=" + url.QueryEscape(target)
	}
	s.JSON(t, http.MethodGet, q, admin, nil, http.StatusOK, &out)
	return len(out.Items)
}

// userState is what the API says of a user, by id or name; found is false
// once the user is gone.
type userState struct {
	found                      bool
	ID, Role, LoginType, Email string
	Suspended                  bool
}

func getUser(t *testing.T, s *servertest.Server, admin, idOrName string) userState {
	t.Helper()
	st, body, _ := s.Do(t, http.MethodGet, "/api/v1/users/"+url.PathEscape(idOrName), admin, nil)
	if st == http.StatusNotFound {
		return userState{}
	}
	var u struct {
		ID        string `json:"id"`
		Role      string `json:"role"`
		LoginType string `json:"login_type"`
		Email     string `json:"email"`
		Suspended bool   `json:"suspended"`
	}
	if st != http.StatusOK || json.Unmarshal(body, &u) != nil {
		t.Fatalf("GET user %s: %d %s", idOrName, st, body)
	}
	return userState{found: true, ID: u.ID, Role: u.Role, LoginType: u.LoginType, Email: u.Email, Suspended: u.Suspended}
}

// console is a browser on the console: cookies, no redirects followed.
type console struct {
	s *servertest.Server
	c *http.Client
}

func newConsole(t *testing.T, s *servertest.Server) *console {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &console{s: s, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// send sends a request and follows the console's redirects.
func (b *console) send(t *testing.T, method, path string, form url.Values) (int, string, *http.Response) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.s.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.s.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp
}

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// csrf is the CSRF field of a console page.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfFieldRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the page:\n%.2000s", page)
	}
	return html.UnescapeString(m[1])
}

func (b *console) login(t *testing.T, user, password string) {
	t.Helper()
	_, page, _ := b.send(t, http.MethodGet, "/login", nil)
	st, body, _ := b.send(t, http.MethodPost, "/login", url.Values{"csrf_token": {csrf(t, page)}, "username": {user}, "password": {password}})
	if st != http.StatusOK {
		t.Fatalf("console login as %s: %d %.500s", user, st, body)
	}
}

// session is the console session cookie, "" when none.
func (b *console) session() string {
	u, _ := url.Parse(b.s.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "latchkey_session" {
			return c.Value
		}
	}
	return ""
}

// startIdP runs a mockoidc provider on loopback.
func startIdP(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// ssoConfig declares the provider "corp" at m, whose groups claim (and
// SCIM groups of the same names) map to roles.
func ssoConfig(t *testing.T, m *mockoidc.MockOIDC) string {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(m.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`sso:
  providers:
    - id: corp
      name: Corp SSO
      issuer: %s
      client_id: %s
      client_secret_file: %s
      scopes: [openid, profile, email, groups]
      roles: {claim: groups, owner: [lk-owners], admin: [lk-admins], member: [engineering]}
`, m.Issuer(), m.ClientID, secret)
	path := filepath.Join(dir, "latchkey.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func idpUser(sub, name string, groups ...string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: sub, PreferredUsername: name, Email: name + "@example.com", EmailVerified: true, Groups: groups}
}

// scim sends a SCIM request with the SCIM client's token.
func scim(t *testing.T, s *servertest.Server, bearer, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+"/scim/v2"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// scimProvision creates a SCIM user and returns its id.
func scimProvision(t *testing.T, s *servertest.Server, bearer, userName string) string {
	t.Helper()
	st, body := scim(t, s, bearer, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+userName+`","active":true}`)
	var out struct {
		ID string `json:"id"`
	}
	if st != http.StatusCreated || json.Unmarshal([]byte(body), &out) != nil || out.ID == "" {
		t.Fatalf("provision %s: %d %s", userName, st, body)
	}
	return out.ID
}

// TestEverySecurityChangeIsAuditedOrNotMade makes PostgreSQL end the
// connection that writes an audit event, then makes each remaining kind of
// security change through its real surface: an account created over the
// API, the operator's password reset, SCIM provisioning, updates,
// deactivation, reactivation, deletion and group-driven roles, a single
// sign-on's just-in-time account, role from claims, suspension and
// session, an identity linked on the console, a device approved or denied
// on the console, and a PAT exchanged for a JWT. Each must leave the change
// and its audit event together, or neither, and say so: a 2xx without
// the event loses the record of who did what; a 5xx with the change made
// tells the client a change did not happen that did.
func TestEverySecurityChangeIsAuditedOrNotMade(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	schemaDSN := servertest.NewPostgresSchema(t, dsn)
	m := startIdP(t)
	s := servertest.StartReplica(t, schemaDSN, "--config", ssoConfig(t, m), fedSecretArg)
	fault := newAuditFault(t, schemaDSN)
	admin := s.AdminSession(t)
	robot := s.CreateUser(t, admin, "scim-robot", "", "owner", "service")
	scimToken := s.CreateToken(t, admin, map[string]any{"name": "idp", "user_id": robot, "scopes": []string{"scim"}, "no_expiry": true}).Secret
	ctx := context.Background()

	t.Run("user create", func(t *testing.T) {
		before := auditCount(t, s, admin, "user.create", "")
		st, body := fault.during(t, func() (int, string) {
			st, b, _ := s.Do(t, http.MethodPost, "/api/v1/users", admin, map[string]any{"username": "created1", "password": "created-password-1", "role": "member", "kind": "person"})
			return st, string(b)
		})
		wantBothOrNeither(t, st, body, getUser(t, s, admin, "created1").found, auditCount(t, s, admin, "user.create", "") > before)
	})

	t.Run("operator password reset", func(t *testing.T) {
		id := s.CreateUser(t, admin, "resetme", "old-password-1", "member", "person")
		st, body := fault.during(t, func() (int, string) {
			_, err := s.App.Services.Users.ResetPassword(ctx, "resetme", "new-password-1")
			if err != nil {
				return http.StatusServiceUnavailable, err.Error()
			}
			return http.StatusOK, ""
		})
		login, _, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"username": "resetme", "password": "new-password-1"})
		wantBothOrNeither(t, st, body, login == http.StatusOK, auditCount(t, s, admin, "user.password_reset", id) > 0)
	})

	t.Run("SCIM create", func(t *testing.T) {
		before := auditCount(t, s, admin, "scim.user_created", "")
		st, body := fault.during(t, func() (int, string) {
			return scim(t, s, scimToken, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"provisioned1","externalId":"ext-1","active":true}`)
		})
		wantBothOrNeither(t, st, body, getUser(t, s, admin, "provisioned1").found, auditCount(t, s, admin, "scim.user_created", "") > before)
	})

	t.Run("SCIM update", func(t *testing.T) {
		id := scimProvision(t, s, scimToken, "replaced1")
		st, body := fault.during(t, func() (int, string) {
			return scim(t, s, scimToken, http.MethodPut, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"replaced1","emails":[{"value":"r1@example.com","primary":true}],"active":true}`)
		})
		wantBothOrNeither(t, st, body, getUser(t, s, admin, id).Email == "r1@example.com", auditCount(t, s, admin, "scim.user_replaced", id) > 0)
	})

	t.Run("SCIM deactivate", func(t *testing.T) {
		id := scimProvision(t, s, scimToken, "deactivated1")
		st, body := fault.during(t, func() (int, string) {
			return scim(t, s, scimToken, http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
		})
		wantBothOrNeither(t, st, body, getUser(t, s, admin, id).Suspended, auditCount(t, s, admin, "scim.user_deactivated", id) > 0)
	})

	t.Run("SCIM reactivate", func(t *testing.T) {
		id := scimProvision(t, s, scimToken, "reactivated1")
		if st, body := scim(t, s, scimToken, http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`); st != http.StatusOK {
			t.Fatalf("deactivate: %d %s", st, body)
		}
		st, body := fault.during(t, func() (int, string) {
			return scim(t, s, scimToken, http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}`)
		})
		wantBothOrNeither(t, st, body, !getUser(t, s, admin, id).Suspended, auditCount(t, s, admin, "scim.user_activated", id) > 0)
	})

	t.Run("SCIM delete", func(t *testing.T) {
		id := scimProvision(t, s, scimToken, "deleted1")
		st, body := fault.during(t, func() (int, string) {
			return scim(t, s, scimToken, http.MethodDelete, "/Users/"+id, "")
		})
		wantBothOrNeither(t, st, body, !getUser(t, s, admin, id).found, auditCount(t, s, admin, "scim.user_deleted", id) > 0)
	})

	t.Run("SCIM group role", func(t *testing.T) {
		id := scimProvision(t, s, scimToken, "grouped1")
		st, body := fault.during(t, func() (int, string) {
			return scim(t, s, scimToken, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"lk-admins","members":[{"value":"`+id+`"}]}`)
		})
		made := getUser(t, s, admin, id).Role == "admin"
		wantBothOrNeither(t, st, body, made, auditCount(t, s, admin, "user.role_from_claims", id) > 0)
		_, list := scim(t, s, scimToken, http.MethodGet, "/Groups?filter="+url.QueryEscape(`displayName eq "lk-admins"`), "")
		stored := strings.Contains(list, id)
		wantBothOrNeither(t, st, body, stored, auditCount(t, s, admin, "scim.group_created", "") > 0)
	})

	// ssoSignIn signs in at the provider as u and reports the answer and
	// the session it left ("" = none).
	ssoSignIn := func(t *testing.T, u *mockoidc.MockUser) (int, string, string) {
		t.Helper()
		m.QueueUser(u)
		b := newConsole(t, s)
		st, body, _ := b.send(t, http.MethodGet, "/auth/sso/corp", nil)
		return st, body, b.session()
	}

	t.Run("SSO just-in-time account", func(t *testing.T) {
		st, body := fault.during(t, func() (int, string) {
			st, body, _ := ssoSignIn(t, idpUser("sub-jit", "jit1", "engineering"))
			return st, body
		})
		u := getUser(t, s, admin, "jit1")
		wantBothOrNeither(t, st, body, u.found, u.found && auditCount(t, s, admin, "user.jit_created", u.ID) > 0)
	})

	t.Run("SSO role from claims", func(t *testing.T) {
		if st, body, _ := ssoSignIn(t, idpUser("sub-role", "role1", "engineering")); st != http.StatusOK {
			t.Fatalf("first sign-in: %d %.300s", st, body)
		}
		id := getUser(t, s, admin, "role1").ID
		st, body := fault.during(t, func() (int, string) {
			st, body, _ := ssoSignIn(t, idpUser("sub-role", "role1", "lk-admins"))
			return st, body
		})
		wantBothOrNeither(t, st, body, getUser(t, s, admin, id).Role == "admin", auditCount(t, s, admin, "user.role_from_claims", id) > 0)
	})

	t.Run("SSO suspension", func(t *testing.T) {
		if st, body, _ := ssoSignIn(t, idpUser("sub-susp", "susp1", "engineering")); st != http.StatusOK {
			t.Fatalf("first sign-in: %d %.300s", st, body)
		}
		id := getUser(t, s, admin, "susp1").ID
		st, body := fault.during(t, func() (int, string) {
			st, body, _ := ssoSignIn(t, idpUser("sub-susp", "susp1", "design"))
			return st, body
		})
		wantBothOrNeither(t, st, body, getUser(t, s, admin, id).Suspended, auditCount(t, s, admin, "user.suspend", id) > 0)
	})

	t.Run("SSO session", func(t *testing.T) {
		if st, body, _ := ssoSignIn(t, idpUser("sub-sess", "sess1", "engineering")); st != http.StatusOK {
			t.Fatalf("first sign-in: %d %.300s", st, body)
		}
		before := auditCount(t, s, admin, "sso.login", "")
		var sess string
		st, body := fault.during(t, func() (int, string) {
			st, body, ss := ssoSignIn(t, idpUser("sub-sess", "sess1", "engineering"))
			sess = ss
			return st, body
		})
		made := false
		if sess != "" {
			me, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", sess, nil)
			made = me == http.StatusOK
		}
		wantBothOrNeither(t, st, body, made, auditCount(t, s, admin, "sso.login", "") > before)
	})

	t.Run("identity linked on the console", func(t *testing.T) {
		id := s.CreateUser(t, admin, "linked1", "linked-password-1", "member", "person")
		b := newConsole(t, s)
		b.login(t, servertest.AdminUser, servertest.AdminPassword)
		_, page, _ := b.send(t, http.MethodGet, "/admin/sso", nil)
		form := url.Values{"csrf_token": {csrf(t, page)}, "user": {"linked1"}, "provider": {"corp"}, "subject": {"sub-linked1"}}
		st, body := fault.during(t, func() (int, string) {
			st, body, _ := b.send(t, http.MethodPost, "/admin/sso/link", form)
			return st, body
		})
		wantBothOrNeither(t, st, body, getUser(t, s, admin, id).LoginType == "oidc", auditCount(t, s, admin, "user.link_identity", id) > 0)
	})

	for _, approve := range []bool{true, false} {
		name, action := "device deny", "device.denied"
		if approve {
			name, action = "device approve", "device.approved"
		}
		t.Run(name, func(t *testing.T) {
			deviceCode, userCode := startDeviceFlow(t, s)
			b := newConsole(t, s)
			b.login(t, servertest.AdminUser, servertest.AdminPassword)
			_, page, _ := b.send(t, http.MethodGet, "/device?user_code="+userCode, nil)
			form := url.Values{"csrf_token": {csrf(t, page)}, "action": {"deny"}, "reviewed": {userCode}, "user_code": {userCode}}
			if approve {
				form.Set("action", "approve")
			}
			before := auditCount(t, s, admin, action, "")
			st, body := fault.during(t, func() (int, string) {
				st, body, _ := b.send(t, http.MethodPost, "/device", form)
				return st, body
			})
			wantBothOrNeither(t, st, body, pollDevice(t, s, deviceCode) != "authorization_pending", auditCount(t, s, admin, action, "") > before)
		})
	}

	t.Run("token exchange", func(t *testing.T) {
		pat := s.CreateToken(t, admin, map[string]any{"name": "exchanged", "scopes": []string{"repo:read"}})
		var jwt string
		st, body := fault.during(t, func() (int, string) {
			form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {pat.Secret},
				"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
			resp, err := s.Client.Post(s.URL+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var out struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.Unmarshal(raw, &out)
			jwt = out.AccessToken
			return resp.StatusCode, string(raw)
		})
		wantBothOrNeither(t, st, body, jwt != "", auditCount(t, s, admin, "token.exchange", pat.ID()) > 0)
	})
}

// startDeviceFlow asks for a device code as `latchkey login --web` does.
func startDeviceFlow(t *testing.T, s *servertest.Server) (deviceCode, userCode string) {
	t.Helper()
	resp, err := s.Client.PostForm(s.URL+"/oauth2/device_authorization", url.Values{"client_id": {"latchkey-cli"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.UserCode == "" {
		t.Fatalf("device authorization: %d %v", resp.StatusCode, err)
	}
	return out.DeviceCode, out.UserCode
}

// pollDevice polls the token endpoint once, as the CLI does, and returns
// "approved" or the error code (authorization_pending, access_denied).
func pollDevice(t *testing.T, s *servertest.Server, deviceCode string) string {
	t.Helper()
	resp, err := s.Client.PostForm(s.URL+"/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {deviceCode}, "client_id": {"latchkey-cli"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if out.AccessToken != "" {
		return "approved"
	}
	return out.Error
}
