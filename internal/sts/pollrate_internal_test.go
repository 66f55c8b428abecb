package sts

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func pollRequest(t *testing.T, basic bool) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://latchkey.test"+TokenPath, strings.NewReader("client_id="+CLIClientID))
	if err != nil {
		t.Fatal(err)
	}
	if basic {
		r.SetBasicAuth(CLIClientID, "")
	}
	return r
}

// The probe's second try (client id in the body, at once) gets the answer of
// the poll it repeats, once; everything else is a poll of its own.
func TestProbeRetryIsTheSecondTryOfOneHeaderPollOnly(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pending := &oauthError{http.StatusBadRequest, "authorization_pending", "pending"}
	slow := &oauthError{http.StatusBadRequest, "slow_down", "slow"}
	denied := &oauthError{http.StatusBadRequest, "access_denied", "denied"}
	for _, c := range []struct {
		name        string
		first       *oauthError
		firstBasic  bool
		secondBasic bool
		after       time.Duration
		want        *oauthError
	}{
		{"header poll pending, body retry at once", pending, true, false, 10 * time.Millisecond, pending},
		{"header poll told slow_down, body retry gets slow_down too", slow, true, false, 10 * time.Millisecond, slow},
		{"body retry after the window is a poll", pending, true, false, probeRetryWindow, nil},
		{"a second header poll is a poll", pending, true, true, 10 * time.Millisecond, nil},
		{"after a body poll, a body poll is a poll", pending, false, false, 10 * time.Millisecond, nil},
		{"a denied code is not retried", denied, true, false, 10 * time.Millisecond, nil},
		{"a retry from before the poll is a poll", pending, true, false, -time.Millisecond, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p probeRetries
			p.remember("dc1", pollRequest(t, c.firstBasic), t0, c.first)
			got, ok := p.retry("dc1", pollRequest(t, c.secondBasic), t0.Add(c.after))
			if ok != (c.want != nil) || got != c.want {
				t.Fatalf("retry = %v, %v; want %v", got, ok, c.want)
			}
			if _, again := p.retry("dc1", pollRequest(t, false), t0.Add(c.after+time.Millisecond)); again {
				t.Fatal("a second body poll was also taken as the probe's retry")
			}
			if _, other := p.retry("dc2", pollRequest(t, false), t0.Add(c.after)); other {
				t.Fatal("another device code's poll was taken as the retry")
			}
		})
	}
}

func TestProbeRetriesAreBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pending := &oauthError{http.StatusBadRequest, "authorization_pending", "pending"}
	var p probeRetries
	for i := range maxProbePolls + 10 {
		p.remember("dc"+strconv.Itoa(i), pollRequest(t, true), t0, pending)
	}
	if n := len(p.polls); n > maxProbePolls {
		t.Fatalf("%d polls remembered, bound %d", n, maxProbePolls)
	}
}

// A poll at its interval, arriving a little early, is on time; a client
// polling clearly faster is told to slow down.
func TestPollTooSoonAllowsJitterButNotFasterPolling(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		after, interval time.Duration
		want            bool
	}{
		{5 * time.Second, 5 * time.Second, false},
		{5*time.Second - 30*time.Millisecond, 5 * time.Second, false}, // a fixed ticker, a faster request
		{4 * time.Second, 5 * time.Second, false},
		{4*time.Second - time.Millisecond, 5 * time.Second, true},
		{time.Second, 5 * time.Second, true},
		{10 * time.Millisecond, 5 * time.Second, true},
		{799 * time.Millisecond, time.Second, true}, // the slack is a fifth of a short interval
		{800 * time.Millisecond, time.Second, false},
	} {
		last := t0
		if got := pollTooSoon(&last, t0.Add(c.after), c.interval); got != c.want {
			t.Errorf("poll %v after the last, interval %v: too soon = %v, want %v", c.after, c.interval, got, c.want)
		}
	}
	if pollTooSoon(nil, t0, 5*time.Second) {
		t.Error("the first poll is too soon")
	}
}
