package sts_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/sts"
)

// oauthAnswer is an answer of an /oauth2 endpoint as a client reads it.
type oauthAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// send posts body (form-encoded unless contentType says otherwise) to path
// with the given headers, from the test's own client, and decodes the JSON
// answer (but for HEAD).
func send(t *testing.T, s *servertest.Server, method, path, contentType, body string, header ...string) oauthAnswer {
	t.Helper()
	status, h, raw := sendRaw(t, s, method, path, contentType, body, header...)
	a := oauthAnswer{status: status, header: h, raw: raw}
	if method != http.MethodHead {
		if err := json.Unmarshal([]byte(raw), &a.body); err != nil {
			t.Fatalf("%s %s: %d, body %q is not JSON", method, path, status, raw)
		}
	}
	return a
}

// sendRaw is send without decoding: status, headers and the body as sent.
func sendRaw(t *testing.T, s *servertest.Server, method, path, contentType, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const formCT = "application/x-www-form-urlencoded"

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// TestInvalidClientChallengeMatchesTheSchemeTheClientUsed: RFC 6749 §5.2
// says a 401 invalid_client carries a WWW-Authenticate challenge for the
// scheme the client authenticated with; a client that sent HTTP Basic
// client credentials gets a Basic challenge only, one that sent a Bearer
// token a Bearer one, and one that sent its secret in the form the scheme
// it could use instead (Basic).
func TestInvalidClientChallengeMatchesTheSchemeTheClientUsed(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	subject := patFor(t, s, admin, "subject", []string{"repo:read"})
	wrong := unknownPAT(t)
	cases := []struct {
		name, path, body string
		header           []string
		want             string // scheme of the one challenge
	}{
		{"introspect, client_secret_basic", sts.IntrospectPath, "token=" + subject.Secret, []string{"Authorization", basic("rs", wrong)}, "Basic"},
		{"introspect, Bearer", sts.IntrospectPath, "token=" + subject.Secret, []string{"Authorization", "Bearer " + wrong}, "Bearer"},
		{"introspect, client_secret_post", sts.IntrospectPath, "token=" + subject.Secret + "&client_secret=" + wrong, nil, "Basic"},
		{"introspect, no credential", sts.IntrospectPath, "token=" + subject.Secret, nil, "Basic"},
		{"exchange, client_secret_basic", sts.TokenPath, exchangeForm(subject.Secret).Encode(), []string{"Authorization", basic("ci", wrong)}, "Basic"},
		{"exchange, client_secret_post", sts.TokenPath, exchangeForm(subject.Secret, "client_secret", wrong).Encode(), nil, "Basic"},
		{"device authorization, unknown client", sts.DeviceAuthorizationPath, "client_id=someone", nil, "Basic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, s, http.MethodPost, tc.path, formCT, tc.body, tc.header...)
			if a.status != 401 || a.body["error"] != "invalid_client" {
				t.Fatalf("%d %s, want 401 invalid_client", a.status, a.raw)
			}
			ch := a.header.Values("WWW-Authenticate")
			if len(ch) != 1 || !strings.HasPrefix(ch[0], tc.want+" ") || !strings.Contains(ch[0], `realm="latchkey"`) {
				t.Fatalf("WWW-Authenticate %q, want one %s challenge", ch, tc.want)
			}
		})
	}
}

// TestFailureLimitAnswersAreNotDevicePollingErrors floods the token
// endpoint with refused subject tokens from one address. The refusal that
// follows is 429 with Retry-After and an error a token-exchange client can
// read: not slow_down, which RFC 8628 §3.5 reserves for a device-flow
// client polling too fast (and which device-flow clients take as "poll
// again in 5 seconds"). A device-flow poll from the same address is not
// refused. The introspection caller gets the same; other addresses keep
// working.
func TestFailureLimitAnswersAreNotDevicePollingErrors(t *testing.T) {
	s := start(t)
	var a oauthAnswer
	for i := 0; i < 60 && a.status != 429; i++ {
		a = send(t, s, http.MethodPost, sts.TokenPath, formCT, exchangeForm(unknownPAT(t)).Encode())
	}
	if a.status != 429 || a.header.Get("Retry-After") == "" || a.body["error"] != "temporarily_unavailable" || a.body["error_description"] == nil {
		t.Fatalf("rate-limited exchange: %d %s (Retry-After %q), want 429 temporarily_unavailable with Retry-After", a.status, a.raw, a.header.Get("Retry-After"))
	}
	a = send(t, s, http.MethodPost, sts.IntrospectPath, formCT, "token=x", "Authorization", "Bearer "+unknownPAT(t))
	if a.status != 429 || a.header.Get("Retry-After") == "" || a.body["error"] != "temporarily_unavailable" {
		t.Fatalf("rate-limited introspection caller: %d %s, want 429 temporarily_unavailable with Retry-After", a.status, a.raw)
	}
	if a.header.Get("Pragma") != "no-cache" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("rate-limited introspection: Cache-Control %q Pragma %q", a.header.Get("Cache-Control"), a.header.Get("Pragma"))
	}
	// The device flow from the same address is untouched.
	auth := send(t, s, http.MethodPost, sts.DeviceAuthorizationPath, formCT, "client_id=latchkey-cli")
	if auth.status != 200 {
		t.Fatalf("device authorization from the limited address: %d %s", auth.status, auth.raw)
	}
	p := send(t, s, http.MethodPost, sts.TokenPath, formCT, url.Values{"grant_type": {sts.GrantDeviceCode}, "client_id": {sts.CLIClientID},
		"device_code": {auth.body["device_code"].(string)}}.Encode())
	if p.status != 400 || p.body["error"] != "authorization_pending" {
		t.Fatalf("device poll from the limited address: %d %s", p.status, p.raw)
	}
}

// TestOAuthEndpointsAnswerAsTheRFCsSay sweeps the /oauth2 endpoints with
// the requests standard clients send and checks each answer's status,
// headers and body against RFC 6749, 7662, 8628 and 8693.
func TestOAuthEndpointsAnswerAsTheRFCsSay(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	subject := patFor(t, s, admin, "ci", []string{"repo:read"})
	rs := patFor(t, s, admin, "rs", []string{"introspect"})
	ok := func(t *testing.T, a oauthAnswer, status int, code string) {
		t.Helper()
		if a.status != status || (code != "" && a.body["error"] != code) {
			t.Fatalf("%d %s, want %d %s", a.status, a.raw, status, code)
		}
		if ct := a.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if a.header.Get("Cache-Control") != "no-store" || a.header.Get("Pragma") != "no-cache" {
			t.Errorf("Cache-Control %q, Pragma %q; want no-store, no-cache", a.header.Get("Cache-Control"), a.header.Get("Pragma"))
		}
		if code != "" {
			if d, _ := a.body["error_description"].(string); d == "" {
				t.Errorf("no error_description: %s", a.raw)
			}
			if _, has := a.body["error_uri"]; has {
				t.Errorf("error_uri: %s", a.raw)
			}
		}
	}
	charset := formCT + "; charset=UTF-8"
	t.Run("token exchange, form with a charset", func(t *testing.T) {
		ok(t, send(t, s, "POST", sts.TokenPath, charset, exchangeForm(subject.Secret).Encode()), 200, "")
	})
	t.Run("token exchange, client_secret_basic with form-encoded id and secret", func(t *testing.T) {
		ok(t, send(t, s, "POST", sts.TokenPath, formCT, exchangeForm(subject.Secret).Encode(), "Authorization", basic("my client:1/ü", subject.Secret)), 200, "")
	})
	t.Run("token exchange, client_secret_post", func(t *testing.T) {
		ok(t, send(t, s, "POST", sts.TokenPath, formCT, exchangeForm(subject.Secret, "client_id", "ci", "client_secret", subject.Secret).Encode()), 200, "")
	})
	t.Run("missing grant_type", func(t *testing.T) {
		ok(t, send(t, s, "POST", sts.TokenPath, formCT, "subject_token=x"), 400, "invalid_request")
	})
	t.Run("unknown grant_type", func(t *testing.T) {
		ok(t, send(t, s, "POST", sts.TokenPath, formCT, "grant_type=password&username=a&password=b"), 400, "unsupported_grant_type")
		ok(t, send(t, s, "POST", sts.TokenPath, formCT, "grant_type=refresh_token&refresh_token=x"), 400, "unsupported_grant_type")
	})
	t.Run("bad subject_token_type", func(t *testing.T) {
		f := exchangeForm(subject.Secret)
		f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:saml2")
		ok(t, send(t, s, "POST", sts.TokenPath, formCT, f.Encode()), 400, "invalid_request")
	})
	t.Run("bad resource", func(t *testing.T) {
		ok(t, send(t, s, "POST", sts.TokenPath, formCT, exchangeForm(subject.Secret, "resource", "not-absolute").Encode()), 400, "invalid_target")
	})
	t.Run("device grant, form with a charset", func(t *testing.T) {
		a := send(t, s, "POST", sts.DeviceAuthorizationPath, charset, "client_id=latchkey-cli")
		ok(t, a, 200, "")
		ok(t, send(t, s, "POST", sts.TokenPath, charset, url.Values{"grant_type": {sts.GrantDeviceCode}, "client_id": {sts.CLIClientID},
			"device_code": {a.body["device_code"].(string)}}.Encode()), 400, "authorization_pending")
	})
	t.Run("introspection, form with a charset and client_secret_post", func(t *testing.T) {
		a := send(t, s, "POST", sts.IntrospectPath, charset, url.Values{"token": {subject.Secret}, "client_id": {"rs"}, "client_secret": {rs.Secret}}.Encode())
		ok(t, a, 200, "")
		if a.body["active"] != true {
			t.Fatalf("%s", a.raw)
		}
	})
	t.Run("introspection, unsupported token_type_hint is ignored", func(t *testing.T) {
		a := send(t, s, "POST", sts.IntrospectPath, formCT, "token_type_hint=saml_assertion&token="+url.QueryEscape(subject.Secret), "Authorization", basic("rs", rs.Secret))
		ok(t, a, 200, "")
		if a.body["active"] != true {
			t.Fatalf("%s", a.raw)
		}
	})
	t.Run("introspection of unknown, malformed and revoked tokens", func(t *testing.T) {
		gone := patFor(t, s, admin, "gone", []string{"repo:read"})
		if st, b, _ := s.Do(t, http.MethodDelete, "/api/v1/tokens/"+gone.ID(), admin, nil); st != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", st, b)
		}
		for _, tok := range []string{unknownPAT(t), "junk", gone.Secret, "a.b.c"} {
			a := send(t, s, "POST", sts.IntrospectPath, formCT, "token="+url.QueryEscape(tok), "Authorization", basic("rs", rs.Secret))
			ok(t, a, 200, "")
			if strings.TrimSpace(a.raw) != `{"active":false}` {
				t.Errorf("introspecting %.12s…: %s, want exactly {\"active\":false}", tok, a.raw)
			}
		}
	})
	for _, path := range []string{sts.TokenPath, sts.IntrospectPath, sts.DeviceAuthorizationPath} {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
			t.Run(m+" "+path, func(t *testing.T) {
				a := send(t, s, m, path, "", "")
				if a.status != 405 || a.header.Get("Allow") != "POST" {
					t.Fatalf("%d Allow %q %s, want 405 with Allow: POST", a.status, a.header.Get("Allow"), a.raw)
				}
			})
		}
	}
	t.Run("metadata names only what works", func(t *testing.T) {
		var md sts.Metadata
		s.JSON(t, http.MethodGet, sts.MetadataPath, "", nil, 200, &md)
		if md.TokenEndpoint != s.URL+sts.TokenPath || md.IntrospectionEndpoint != s.URL+sts.IntrospectPath ||
			md.DeviceAuthorizationEndpoint != s.URL+sts.DeviceAuthorizationPath || md.JWKSURI != s.URL+sts.JWKSPath {
			t.Errorf("endpoints %+v", md)
		}
		if strings.Join(md.GrantTypesSupported, " ") != sts.GrantTokenExchange+" "+sts.GrantDeviceCode {
			t.Errorf("grant_types_supported %v", md.GrantTypesSupported)
		}
		if strings.Join(md.TokenEndpointAuthMethods, " ") != "none client_secret_basic client_secret_post" ||
			strings.Join(md.IntrospectionEndpointAuthMethods, " ") != "client_secret_basic client_secret_post" {
			t.Errorf("auth methods %v %v", md.TokenEndpointAuthMethods, md.IntrospectionEndpointAuthMethods)
		}
	})
}
