package sts_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/sts"
)

func postForm(t *testing.T, s *servertest.Server, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client.PostForm(s.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST %s: not JSON: %s", path, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("POST %s: Content-Type %q", path, ct)
	}
	return resp.StatusCode, out
}

func poll(t *testing.T, s *servertest.Server, code string) (int, map[string]any) {
	return postForm(t, s, sts.TokenPath, url.Values{"grant_type": {sts.GrantDeviceCode}, "device_code": {code}, "client_id": {"latchkey-cli"}})
}

// consoleDecide signs in to the console as admin and approves or denies the
// user code on /device, as a person in a browser would: the link opens the
// review of the request, and approving takes the code typed again (here in
// lower case, as people type it). It returns the answer with the page it
// ends on, or the link's answer when it shows no review.
func consoleDecide(t *testing.T, s *servertest.Server, userCode, action string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	u, _ := url.Parse(s.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: s.AdminSession(t)}})
	resp, err := c.Get(s.URL + "/device?user_code=" + url.QueryEscape(userCode))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 {
		return resp, page // the code cannot be decided on: no review to act on
	}
	if !strings.Contains(page, `name="reviewed" value="`+userCode+`"`) {
		t.Fatalf("/device does not review the linked code: %.400s", page)
	}
	i := strings.Index(page, `name="csrf_token" value="`)
	csrf := page[i+len(`name="csrf_token" value="`):]
	csrf = csrf[:strings.IndexByte(csrf, '"')]
	resp, err = c.PostForm(s.URL+"/device", url.Values{"csrf_token": {csrf}, "reviewed": {userCode}, "user_code": {strings.ToLower(userCode)}, "action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestDeviceFlowApprovedOnTheConsoleGivesTheCLIASession(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		if code, out := postForm(t, s, sts.DeviceAuthorizationPath, url.Values{"client_id": {"someone-else"}}); code != 401 || out["error"] != "invalid_client" {
			t.Fatalf("unknown client: %d %v", code, out)
		}
		if code, out := postForm(t, s, sts.DeviceAuthorizationPath, url.Values{"client_id": {"latchkey-cli"}, "scope": {"repo:read"}}); code != 400 || out["error"] != "invalid_scope" {
			t.Fatalf("a scope the session cannot be narrowed to: %d %v, want 400 invalid_scope", code, out)
		}
		code, auth := postForm(t, s, sts.DeviceAuthorizationPath, url.Values{"client_id": {"latchkey-cli"}})
		if code != 200 || auth["verification_uri"] != s.URL+"/device" || auth["interval"] != float64(5) || auth["expires_in"] != float64(600) {
			t.Fatalf("device authorization: %d %v", code, auth)
		}
		userCode, deviceCode := auth["user_code"].(string), auth["device_code"].(string)
		if len(userCode) != 9 || userCode[4] != '-' || auth["verification_uri_complete"] != s.URL+"/device?user_code="+userCode {
			t.Fatalf("user code %q / complete URI %v", userCode, auth["verification_uri_complete"])
		}

		if code, out := poll(t, s, deviceCode); code != 400 || out["error"] != "authorization_pending" {
			t.Fatalf("first poll: %d %v, want authorization_pending", code, out)
		}
		if code, out := poll(t, s, deviceCode); code != 400 || out["error"] != "slow_down" {
			t.Fatalf("immediate second poll: %d %v, want slow_down", code, out)
		}
		if code, out := poll(t, s, "forged-device-code"); code != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("forged device code: %d %v, want invalid_grant", code, out)
		}

		resp, page := consoleDecide(t, s, userCode, "approve")
		if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "result=approved" {
			t.Fatalf("approval: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		// Said once, in the page's own live region.
		if n := strings.Count(page, "The CLI is signed in"); n != 1 || !strings.Contains(page, `class="alert alert-success" role="status" id="device-done"`) {
			t.Errorf("the approval is said %d times (want once, as a success): %.2000s", n, page)
		}
		code, tok := poll(t, s, deviceCode)
		secret, _ := tok["access_token"].(string)
		if code != 200 || !strings.HasPrefix(secret, "lk_ses_") || tok["token_type"] != "Bearer" || tok["expires_in"].(float64) < 3600 {
			t.Fatalf("poll after approval: %d %v", code, tok)
		}
		var me struct {
			User struct{ Username string } `json:"user"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/me", secret, nil, 200, &me)
		if me.User.Username != servertest.AdminUser {
			t.Fatalf("device session is %q's", me.User.Username)
		}
		if code, out := poll(t, s, deviceCode); code != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("second redemption: %d %v, want invalid_grant", code, out)
		}

		// Denied on the console: the CLI gets access_denied.
		_, auth = postForm(t, s, sts.DeviceAuthorizationPath, url.Values{"client_id": {"latchkey-cli"}})
		if _, page := consoleDecide(t, s, auth["user_code"].(string), "deny"); strings.Count(page, "The sign-in was denied") != 1 ||
			!strings.Contains(page, `class="alert alert-warning" role="status" id="device-done"`) {
			t.Errorf("the denial is not said once, as a warning: %.2000s", page)
		}
		if code, out := poll(t, s, auth["device_code"].(string)); code != 400 || out["error"] != "access_denied" {
			t.Fatalf("denied code: %d %v", code, out)
		}
		// A used or denied code cannot be approved again.
		if resp, _ := consoleDecide(t, s, auth["user_code"].(string), "approve"); resp.StatusCode != 422 {
			t.Fatalf("approving a denied code: %d, want 422", resp.StatusCode)
		}

		// The endpoints are in the RFC 8414 metadata.
		var md map[string]any
		s.JSON(t, http.MethodGet, sts.MetadataPath, "", nil, 200, &md)
		if md["device_authorization_endpoint"] != s.URL+sts.DeviceAuthorizationPath || !strings.Contains(strings.Join(anyStrings(md["grant_types_supported"]), " "), sts.GrantDeviceCode) {
			t.Fatalf("metadata: %v", md)
		}
	}, "--signing-key-secret=device-flow-test-secret-0123456789")
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, service.Actor, string, string, string, map[string]any) {}

// TestDeviceCodeExpires runs the handler on a real SQLite store with a
// clock the test moves.
func TestDeviceCodeExpires(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &sts.Device{Store: st, Audit: nopAudit{}, Issuer: func() string { return "http://x" }, Now: func() time.Time { return now }}
	mux := http.NewServeMux()
	d.Mount(mux)
	mux.HandleFunc(sts.TokenPath, d.Intercept(func(w http.ResponseWriter, r *http.Request) { t.Fatal("device grant passed on") }))
	do := func(path string, form url.Values) map[string]any {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return out
	}
	auth := do(sts.DeviceAuthorizationPath, url.Values{"client_id": {"latchkey-cli"}})
	// The code is stored hashed: neither code is in the database.
	got, err := st.GetDeviceCodeByDigest(t.Context(), []byte(auth["device_code"].(string)))
	if err == nil || got != nil {
		t.Fatal("the device code is stored in the clear")
	}
	now = now.Add(10*time.Minute + time.Second)
	if out := do(sts.TokenPath, url.Values{"grant_type": {sts.GrantDeviceCode}, "device_code": {auth["device_code"].(string)}, "client_id": {"latchkey-cli"}}); out["error"] != "expired_token" {
		t.Fatalf("expired code: %v", out)
	}
	err = d.Decide(t.Context(), service.Actor{User: &store.User{ID: "u"}, Session: true}, auth["user_code"].(string), true)
	if err == nil {
		t.Fatal("an expired code was approved")
	}
	// An access token (not a session) may not approve.
	if err := d.Decide(t.Context(), service.Actor{User: &store.User{ID: "u"}}, "BCDF-GHJK", true); err == nil || !strings.Contains(err.Error(), "console session") {
		t.Fatalf("approval with an access token: %v", err)
	}
}
