package sts_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/sts"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/token"
)

// TestOpenIDClientPollingTooFastSlowsDownAndSignsIn runs
// testdata/openid-client/device.mjs: openid-client v6 polls the device
// grant every second, faster than the 5 seconds it was told. The server
// answers slow_down; the client adds 5 seconds, as RFC 8628 §3.5 says, and
// once the person approves it gets its session.
func TestOpenIDClientPollingTooFastSlowsDownAndSignsIn(t *testing.T) {
	node := testenv.LookPath(t, "node", "the Debian package nodejs")
	modules := openIDClientModules(t)
	s := start(t)
	cmd := exec.Command(node, "testdata/openid-client/device.mjs")
	cmd.Env = append(os.Environ(), "LK_URL="+s.URL, "LK_INTERVAL=1", "LK_TIMEOUT=60", "NODE_PATH="+modules)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var (
		userCode string
		polls    []string
		approved bool
	)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		var ev struct {
			UserCode string         `json:"user_code"`
			Poll     string         `json:"poll"`
			Result   map[string]any `json:"result"`
			Failed   map[string]any `json:"failed"`
		}
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
			t.Fatalf("device.mjs printed %q: %v", lines.Text(), err)
		}
		switch {
		case ev.UserCode != "":
			userCode = ev.UserCode
		case ev.Poll != "":
			polls = append(polls, ev.Poll)
			if ev.Poll == "slow_down" && !approved {
				// The client was told to slow down; now approve, and it
				// must still come to get the session.
				if resp, _ := consoleDecide(t, s, userCode, "approve"); resp.StatusCode != 200 {
					t.Fatalf("approval: %d", resp.StatusCode)
				}
				approved = true
			}
		case ev.Failed != nil:
			t.Fatalf("openid-client gave up: %v (polls answered: %v)", ev.Failed, polls)
		case ev.Result != nil:
			if ev.Result["has_token"] != true || !approved {
				t.Fatalf("result %v after polls %v (approved %v)", ev.Result, polls, approved)
			}
			return
		}
	}
	t.Fatalf("device.mjs ended without a result; polls answered: %v", polls)
}

// recordingTransport notes the OAuth error code (or "token") of each answer
// of the token endpoint, and calls onAnswer after each.
type recordingTransport struct {
	next     http.RoundTripper
	mu       sync.Mutex
	answers  []string
	onAnswer func(code string)
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(r)
	if err != nil || r.URL.Path != sts.TokenPath {
		return resp, err
	}
	code := "token"
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		var body struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &body)
		code = body.Error
	}
	rt.mu.Lock()
	rt.answers = append(rt.answers, code)
	rt.mu.Unlock()
	if rt.onAnswer != nil {
		rt.onAnswer(code)
	}
	return resp, nil
}

func (rt *recordingTransport) seen() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.answers...)
}

// TestGoOAuth2DeviceFlowPollingTooFastSlowsDownAndSignsIn runs the device
// flow with golang.org/x/oauth2 (Config.DeviceAuth, DeviceAccessToken),
// starting at a 1-second interval instead of the 5 the server gave. Its
// default auth-style probe also sends a second poll right after every
// refused one. Each slow_down makes it wait 5 seconds more; it must then be
// answered, not told slow_down for ever.
func TestGoOAuth2DeviceFlowPollingTooFastSlowsDownAndSignsIn(t *testing.T) {
	s := start(t)
	var once sync.Once
	rt := &recordingTransport{next: http.DefaultTransport}
	rt.onAnswer = func(code string) {
		if code == "slow_down" {
			once.Do(func() {
				go func() { _, _ = consoleDecide(t, s, userCodeOf(t), "approve") }()
			})
		}
	}
	conf := &oauth2.Config{ClientID: sts.CLIClientID, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: s.URL + sts.DeviceAuthorizationPath, TokenURL: s.URL + sts.TokenPath,
	}}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Transport: rt, Timeout: 30 * time.Second})
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	setUserCode(da.UserCode)
	if da.Interval != 5 || da.VerificationURI != s.URL+"/device" {
		t.Fatalf("device authorization %+v", da)
	}
	da.Interval = 1 // too fast
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v (answers: %v)", err, rt.seen())
	}
	if !strings.HasPrefix(tok.AccessToken, "lk_ses_") || !strings.EqualFold(tok.TokenType, "Bearer") {
		t.Fatalf("token %+v", tok)
	}
	if got := rt.seen(); !contains(got, "slow_down") {
		t.Errorf("answers %v: the client was never told to slow down", got)
	}
}

var userCodeState struct {
	sync.Mutex
	code string
}

func setUserCode(c string) { userCodeState.Lock(); userCodeState.code = c; userCodeState.Unlock() }
func userCodeOf(*testing.T) string {
	userCodeState.Lock()
	defer userCodeState.Unlock()
	return userCodeState.code
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestGoOAuth2ReadsTokenEndpointErrors drives the token endpoint with
// golang.org/x/oauth2 as Go programs do: Config.Exchange (an authorization
// code, a grant Latchkey does not have) and a token exchange through
// Exchange with RFC 8693 parameters, as a public client (client id, no
// secret) with the default auth-style probe. Each answer must come back as
// a RetrieveError with the RFC 6749 §5.2 code, or as a token.
func TestGoOAuth2ReadsTokenEndpointErrors(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	pat := patFor(t, s, admin, "x-oauth2", []string{"repo:read"})
	conf := &oauth2.Config{ClientID: "billing", Endpoint: oauth2.Endpoint{TokenURL: s.URL + sts.TokenPath}}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, s.Client)

	_, err := conf.Exchange(ctx, "some-code")
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "unsupported_grant_type" || re.ErrorDescription == "" || re.Response.StatusCode != 400 {
		t.Fatalf("authorization_code grant: %v, want a 400 unsupported_grant_type RetrieveError", err)
	}

	exchangeParams := func(subject string) []oauth2.AuthCodeOption {
		return []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("grant_type", sts.GrantTokenExchange),
			oauth2.SetAuthURLParam("subject_token", subject),
			oauth2.SetAuthURLParam("subject_token_type", sts.TypeAccessToken),
			oauth2.SetAuthURLParam("audience", "billing-api"),
		}
	}
	tok, err := conf.Exchange(ctx, "", exchangeParams(pat.Secret)...)
	if err != nil {
		t.Fatalf("token exchange through x/oauth2: %v", err)
	}
	if strings.Count(tok.AccessToken, ".") != 2 || tok.Extra("issued_token_type") != sts.TypeJWT {
		t.Fatalf("token exchange answer %+v", tok)
	}

	_, err = conf.Exchange(ctx, "", exchangeParams(unknownPAT(t))...)
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != 400 {
		t.Fatalf("a refused subject token: %v, want a 400 invalid_grant RetrieveError", err)
	}
}

// unknownPAT is a well-formed personal access token no server issued.
func unknownPAT(t *testing.T) string {
	t.Helper()
	raw, err := token.Generate("lk", token.Personal)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
