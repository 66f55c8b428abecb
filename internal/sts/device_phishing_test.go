package sts_test

import (
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/sts"
)

// browserFrom is a person's browser whose connections come from ip (a
// loopback address), signed in to the console with session.
type browserFrom struct {
	t      *testing.T
	s      *servertest.Server
	client *http.Client
}

func newBrowserFrom(t *testing.T, s *servertest.Server, ip, session string) *browserFrom {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(s.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: session}})
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &browserFrom{t: t, s: s, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}}
}

func (b *browserFrom) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(b.s.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browserFrom) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.PostForm(b.s.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var (
	inputRe = regexp.MustCompile(`<input\b[^>]*>`)
	nameRe  = regexp.MustCompile(`\bname="([^"]*)"`)
	valueRe = regexp.MustCompile(`\bvalue="([^"]*)"`)
)

// submitted is what a browser sends for the page's POST form when the
// button with the given action is pressed and nothing is typed: every
// input's name with the value the page gave it.
func submitted(t *testing.T, page, action string) url.Values {
	t.Helper()
	i := strings.Index(page, `<form method="post" action="/device"`)
	if i < 0 {
		t.Fatalf("no /device form on the page: %.3000s", page)
	}
	form := page[i : i+strings.Index(page[i:], "</form>")]
	out := url.Values{"action": {action}}
	for _, in := range inputRe.FindAllString(form, -1) {
		name := nameRe.FindStringSubmatch(in)
		if name == nil {
			continue
		}
		value := ""
		if v := valueRe.FindStringSubmatch(in); v != nil {
			value = html.UnescapeString(v[1])
		}
		out.Add(name[1], value)
	}
	return out
}

// deviceCodeFrom asks for a device code as a CLI would, connecting from ip
// with the given User-Agent and, when xff is not empty, X-Forwarded-For.
func deviceCodeFrom(t *testing.T, s *servertest.Server, ip, agent, xff string) (userCode, deviceCode string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+sts.DeviceAuthorizationPath, strings.NewReader(url.Values{"client_id": {sts.CLIClientID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", agent)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := loopbackClient(ip).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("device authorization from %s: status %d", ip, resp.StatusCode)
	}
	return out["user_code"].(string), out["device_code"].(string)
}

// TestDevicePhishingLinkCannotApproveWithOneClick is the remote-phishing
// attack of RFC 8628 §5.4: the attacker starts a device sign-in, lying
// about its address and sending HTML as its User-Agent, and sends the
// victim the verification link with the code in it. The victim, signed in
// to the console, opens it and presses Approve.
func TestDevicePhishingLinkCannotApproveWithOneClick(t *testing.T) {
	// 127.0.0.2 is a trusted proxy; the attacker (127.0.0.3) and the victim
	// (127.0.0.1) connect directly.
	eachBackend(t, func(t *testing.T, s *servertest.Server) {
		const agent = "Mozilla/5.0 <script>alert('pwn')</script>\t<b>Latchkey official</b>\u202eevil"
		userCode, deviceCode := deviceCodeFrom(t, s, "127.0.0.3", agent, "203.0.113.66")
		victim := newBrowserFrom(t, s, "127.0.0.1", s.AdminSession(t))

		resp, page := victim.get("/device?user_code=" + userCode)
		if resp.StatusCode != 200 {
			t.Fatalf("the link: %d %.2000s", resp.StatusCode, page)
		}
		for _, want := range []string{
			"Only approve if you started this sign-in yourself, on a device you have in front of you, just now.",
			`<code id="device-ip">127.0.0.3</code>`, // the address the server saw, not the forged header
			`The latchkey CLI`,
			`<code class="agent" id="device-agent">Mozilla/5.0 &lt;script&gt;alert(&#39;pwn&#39;)&lt;/script&gt; &lt;b&gt;Latchkey official&lt;/b&gt;�evil</code>`,
			`<time datetime=`,       // when it was asked
			`id="device-elsewhere"`, // the requester is not at the victim's address
			"full role (owner)",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the review does not show %q: %.4000s", want, page)
			}
		}
		for _, never := range []string{"203.0.113.66", "<script>alert", "<b>Latchkey official", "\u202e"} {
			if strings.Contains(page, never) {
				t.Errorf("the review shows %q", never)
			}
		}
		if f := submitted(t, page, "approve"); f.Get("user_code") != "" {
			t.Errorf("the link's code is filled in for the person: %v", f)
		}

		// One press of Approve on the page as the link left it approves
		// nothing: the code must be typed from a terminal.
		resp, page = victim.post("/device", submitted(t, page, "approve"))
		if code, out := poll(t, s, deviceCode); code != 400 || out["error"] != "authorization_pending" {
			t.Fatalf("after one click on Approve the attacker's poll gets %d %v, want authorization_pending", code, out)
		}
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "<title>Error: ") ||
			!strings.Contains(page, `aria-invalid="true" aria-describedby="user_code-error"`) ||
			!strings.Contains(page, `id="user_code-error">Type the code your terminal shows to approve.`) {
			t.Fatalf("approve without typing the code: %d %.3000s", resp.StatusCode, page)
		}
		// A form that names the code without a review (the page before the
		// fix, or a hand-made one) is shown the review, not obeyed.
		csrf := submitted(t, page, "approve").Get("csrf_token")
		resp, page = victim.post("/device", url.Values{"csrf_token": {csrf}, "user_code": {userCode}, "action": {"approve"}})
		if resp.StatusCode != 200 || !strings.Contains(page, `id="device-request"`) || strings.Contains(page, `id="device-done"`) {
			t.Fatalf("a code sent without its review: %d %.3000s", resp.StatusCode, page)
		}
		// Another pending code typed against this review approves neither.
		other, otherDevice := deviceCodeFrom(t, s, "127.0.0.1", "latchkey-cli/1.0", "")
		resp, page = victim.post("/device", url.Values{"csrf_token": {csrf}, "reviewed": {userCode}, "user_code": {other}, "action": {"approve"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "This is not the code of the request shown here") {
			t.Fatalf("a different code typed: %d %.3000s", resp.StatusCode, page)
		}
		if code, out := poll(t, s, otherDevice); code != 400 || out["error"] != "authorization_pending" {
			t.Fatalf("the code typed against another's review was approved: %d %v", code, out)
		}

		// Deny needs no typing: refusing someone else's request is safe.
		// It also shows the attacker's code was still pending: a decided
		// code cannot be denied.
		_, page = victim.get("/device?user_code=" + userCode)
		resp, page = victim.post("/device", submitted(t, page, "deny"))
		if resp.StatusCode != 200 || !strings.Contains(page, "The sign-in was denied") {
			t.Fatalf("deny from the link: %d %.2000s", resp.StatusCode, page)
		}
		if code, out := poll(t, s, deviceCode); code != 400 || out["error"] != "access_denied" {
			t.Fatalf("denied: %d %v", code, out)
		}
	}, "--trusted-proxies=127.0.0.2/32")
}

// TestDeviceApprovalNeedsTheCodeTypedFromTheTerminal is the legitimate
// flow: from the link, the person types the code their terminal shows and
// approves; a code typed on the bare page is reviewed first. A request
// through a trusted proxy shows the address the proxy forwarded.
func TestDeviceApprovalNeedsTheCodeTypedFromTheTerminal(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *servertest.Server) {
		person := newBrowserFrom(t, s, "127.0.0.1", s.AdminSession(t))

		// From the link, with the code typed as people type it.
		userCode, deviceCode := deviceCodeFrom(t, s, "127.0.0.1", "latchkey-cli/1.0 (linux)", "203.0.113.66")
		_, page := person.get("/device?user_code=" + userCode)
		if !strings.Contains(page, `<code id="device-ip">127.0.0.1</code>`) || strings.Contains(page, `id="device-elsewhere"`) {
			t.Fatalf("a request from the person's own address: %.3000s", page)
		}
		f := submitted(t, page, "approve")
		f.Set("user_code", strings.ToLower(strings.Replace(userCode, "-", " ", 1)))
		resp, page := person.post("/device", f)
		if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "result=approved" || !strings.Contains(page, "The CLI is signed in") {
			t.Fatalf("approve with the typed code: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		if code, out := poll(t, s, deviceCode); code != 200 || !strings.HasPrefix(out["access_token"].(string), "lk_ses_") {
			t.Fatalf("poll after approval: %d %v", code, out)
		}

		// Through the trusted proxy, typed on the bare page: Continue shows
		// the review (with the forwarded address), then Approve approves.
		userCode, deviceCode = deviceCodeFrom(t, s, "127.0.0.2", "latchkey-cli/1.0", "198.51.100.7")
		_, page = person.get("/device")
		f = submitted(t, page, "review")
		if f.Get("user_code") != "" || f.Has("reviewed") {
			t.Fatalf("the bare page is not the code form: %v", f)
		}
		f.Set("user_code", userCode)
		resp, page = person.post("/device", f)
		if resp.StatusCode != 200 || !strings.Contains(page, `<code id="device-ip">198.51.100.7</code>`) ||
			!strings.Contains(page, `id="device-elsewhere"`) || !strings.Contains(page, "Only approve if you started this sign-in yourself") {
			t.Fatalf("review of a typed code: %d %.3000s", resp.StatusCode, page)
		}
		if code, out := poll(t, s, deviceCode); code != 400 || out["error"] != "authorization_pending" {
			t.Fatalf("Continue approved the code: %d %v", code, out)
		}
		resp, _ = person.post("/device", submitted(t, page, "approve"))
		if resp.Request.URL.RawQuery != "result=approved" {
			t.Fatalf("approve after review: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		time.Sleep(5 * time.Second) // the polling interval
		if code, out := poll(t, s, deviceCode); code != 200 {
			t.Fatalf("poll after approval: %d %v", code, out)
		}

		// The bare page sent empty: the error is said the accessible way.
		_, page = person.get("/device")
		resp, page = person.post("/device", submitted(t, page, "review"))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "<title>Error: Sign in a device") ||
			!strings.Contains(page, `aria-invalid="true" aria-describedby="user_code-error"`) {
			t.Fatalf("empty code: %d %.3000s", resp.StatusCode, page)
		}
		// An unknown code in a link is refused on the page, and counts as a
		// wrong guess.
		resp, page = person.get("/device?user_code=BCDF-GHJK")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "This code is unknown, expired or already used") ||
			strings.Contains(page, `id="device-request"`) {
			t.Fatalf("unknown code in a link: %d %.3000s", resp.StatusCode, page)
		}
	}, "--trusted-proxies=127.0.0.2/32")
}

// TestDeviceRequesterAgentIsCleanedAndBounded: anyone may create a device
// code, so the User-Agent kept with it is bounded, valid UTF-8 (PostgreSQL
// text refuses anything else) and free of control and bidirectional
// formatting characters, whatever the client sent.
func TestDeviceRequesterAgentIsCleanedAndBounded(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	d := &sts.Device{Store: st, Audit: nopAudit{}, Issuer: func() string { return "http://x" }}
	mux := http.NewServeMux()
	d.Mount(mux)
	for _, tc := range []struct{ name, sent, want string }{
		{"line breaks and NUL", "curl/8\r\nX-Evil: 1\x00", "curl/8\ufffd\ufffdX-Evil: 1\ufffd"},
		{"invalid UTF-8", "agent \xff\xfe end", "agent \ufffd end"},
		{"right-to-left override", "abc\u202etxt.exe", "abc\ufffdtxt.exe"},
		{"long", strings.Repeat("é", 400), strings.Repeat("é", 128)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, sts.DeviceAuthorizationPath, strings.NewReader("client_id="+sts.CLIClientID))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("User-Agent", tc.sent)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			var out map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 {
				t.Fatalf("device authorization: %d %s", w.Code, w.Body)
			}
			req, err := d.Pending(t.Context(), service.Actor{User: &store.User{ID: "u"}, Session: true}, out["user_code"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if req.Agent != tc.want || req.IP != "192.0.2.1" || req.ClientID != sts.CLIClientID || req.UserCode != out["user_code"] {
				t.Fatalf("Pending = %+v, want agent %q from 192.0.2.1", req, tc.want)
			}
		})
	}
}
