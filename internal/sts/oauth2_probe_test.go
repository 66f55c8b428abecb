package sts_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/sts"
)

// styleCounter counts token requests by where their client id is: an HTTP
// Basic header, or the form body only.
type styleCounter struct {
	next         http.RoundTripper
	header, body atomic.Int32
}

func (c *styleCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == sts.TokenPath {
		if _, _, ok := r.BasicAuth(); ok {
			c.header.Add(1)
		} else {
			c.body.Add(1)
		}
	}
	return c.next.RoundTrip(r)
}

// TestGoOAuth2DefaultProbeAtTheIntervalIsNeverToldToSlowDown runs the
// device flow with golang.org/x/oauth2 as a Go CLI would, with every
// default: the interval the server gave, and AuthStyleAutoDetect, which
// sends each poll answered with an error a second time at once (client id
// in a Basic header, then in the body). A client polling at its interval
// must not be told slow_down (RFC 8628 §3.5 is for clients polling faster):
// it waits about three intervals, then the person approves, and it gets its
// session at the next poll.
func TestGoOAuth2DefaultProbeAtTheIntervalIsNeverToldToSlowDown(t *testing.T) {
	s := start(t)
	answered := make(chan string, 64)
	styles := &styleCounter{next: http.DefaultTransport}
	rt := &recordingTransport{next: styles, onAnswer: func(code string) {
		select {
		case answered <- code:
		default:
		}
	}}
	conf := &oauth2.Config{ClientID: sts.CLIClientID, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: s.URL + sts.DeviceAuthorizationPath, TokenURL: s.URL + sts.TokenPath,
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rt, Timeout: 30 * time.Second})
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := conf.DeviceAccessToken(ctx, da)
		done <- result{tok, err}
	}()
	for pending := 0; pending < 6; { // three intervals: a poll and its probe each
		select {
		case code := <-answered:
			if code != "authorization_pending" {
				t.Fatalf("x/oauth2 polling at the interval it was given was answered %s (answers: %v)", code, rt.seen())
			}
			pending++
		case r := <-done:
			t.Fatalf("DeviceAccessToken ended before approval: %v (answers: %v)", r.err, rt.seen())
		}
	}
	if resp, _ := consoleDecide(t, s, da.UserCode, "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("approval: %d", resp.StatusCode)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("DeviceAccessToken: %v (answers: %v)", r.err, rt.seen())
	}
	if !strings.HasPrefix(r.tok.AccessToken, "lk_ses_") {
		t.Fatalf("token %+v", r.tok)
	}
	if got := rt.seen(); contains(got, "slow_down") {
		t.Errorf("answers %v: a client polling at its interval was told to slow down", got)
	}
	if styles.header.Load() == 0 || styles.body.Load() == 0 {
		t.Errorf("polls with the client id in a Basic header: %d, in the body only: %d; the auth-style probe did not run",
			styles.header.Load(), styles.body.Load())
	}
}
