package sts

import (
	"net/http"
	"sync"
	"time"
)

// pollTooSoon reports whether a device-grant poll at now, after one at last
// (nil: none yet), is faster than interval and gets slow_down (RFC 8628
// §3.5). A poll may arrive a little early and still be on time: a client
// polling on a fixed ticker (golang.org/x/oauth2) sends at exact multiples
// of its interval, and its requests reach this check a little earlier or
// later each time (a new connection for the first, a busy database), so
// "exactly at the interval" must not read as "too fast". The slack is at
// most a second and a fifth of the interval: a client polling every 1 s
// against 5 s is still told to slow down.
func pollTooSoon(last *time.Time, now time.Time, interval time.Duration) bool {
	if last == nil {
		return false
	}
	return now.Sub(*last) < interval-min(time.Second, interval/5)
}

// probeRetryWindow is how soon after a poll its auth-style probe's second
// try must come to be taken as the same poll. golang.org/x/oauth2 sends it
// as soon as the first answer is read.
const probeRetryWindow = time.Second

// maxProbePolls bounds the polls remembered at once; device codes are
// themselves bounded per client address (Device.AuthorizationBurst).
const maxProbePolls = 10_000

// probeRetries lets golang.org/x/oauth2's auth-style probe through the
// device grant's polling rule. With its default AuthStyleAutoDetect, every
// token request answered with an error is sent twice: first with the client
// id in an HTTP Basic header, then at once with it in the form body only.
// While the code waits for approval each poll is answered with an error
// (authorization_pending), so each poll arrives twice; counted as two polls,
// the second is always faster than the interval and gets slow_down, and the
// client's interval grows by 5 seconds at every tick although it polls at
// the interval it was given.
//
// The rule (with pollTooSoon, the device grant's polling rule): a poll with its client in a Basic header that is answered
// authorization_pending or slow_down is remembered; the same device code's
// next poll, if it comes within probeRetryWindow with its client in the
// body only, is that poll's second try: it gets the same answer and counts
// for nothing (the interval is not raised again, the last poll time is not
// moved). Each remembered poll is retried once. Any other poll faster than
// the interval still gets slow_down (RFC 8628 §3.5), so a client gets at
// most one extra poll per counted poll, and only by switching client-auth
// style each time.
//
// Polls are remembered per replica: a probe pair split by a load balancer
// across two replicas is counted as two polls, as before.
type probeRetries struct {
	mu    sync.Mutex
	polls map[string]probePoll // by device code id
}

type probePoll struct {
	at     time.Time
	answer *oauthError
}

// clientInHeader reports whether r sends its client credentials in an HTTP
// Basic Authorization header (x/oauth2's first try).
func clientInHeader(r *http.Request) bool {
	_, _, ok := r.BasicAuth()
	return ok
}

// remember notes the answer to a poll of device code id at now, when a
// probe's second try may follow it: the client was in a Basic header and
// the answer an error of a pending code.
func (p *probeRetries) remember(id string, r *http.Request, now time.Time, answer *oauthError) {
	if answer == nil || (answer.code != "authorization_pending" && answer.code != "slow_down") || !clientInHeader(r) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.polls == nil {
		p.polls = map[string]probePoll{}
	}
	if len(p.polls) >= maxProbePolls {
		for k, v := range p.polls {
			if now.Sub(v.at) >= probeRetryWindow {
				delete(p.polls, k)
			}
		}
		if len(p.polls) >= maxProbePolls {
			p.polls = map[string]probePoll{}
		}
	}
	p.polls[id] = probePoll{at: now, answer: answer}
}

// retry returns the answer to give, and true, when r is the probe's second
// try of the poll remembered for device code id: its client in the body
// only, within probeRetryWindow. The caller checks that the code is still
// pending (an approval in between is answered with the session).
func (p *probeRetries) retry(id string, r *http.Request, now time.Time) (*oauthError, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, ok := p.polls[id]
	if !ok {
		return nil, false
	}
	delete(p.polls, id) // once; and a poll in the header style again starts over
	if clientInHeader(r) || now.Before(prev.at) || now.Sub(prev.at) >= probeRetryWindow {
		return nil, false
	}
	return prev.answer, true
}
