package auth

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// ErrRateLimited is wrapped by RateLimited: the client's address used up its
// budget of failed authentications.
var ErrRateLimited = errors.New("rate limited")

// RateLimited refuses a request from an address that failed authentication
// too often, or a login for a user name that did (Account, from
// AccountLimiter). Every surface answers it with 429 and Retry-After.
type RateLimited struct {
	RetryAfter time.Duration
	Account    bool
}

func (e *RateLimited) Error() string {
	unit := " seconds"
	if e.Seconds() == "1" {
		unit = " second"
	}
	if e.Account {
		return "too many failed logins for this user name; wait " + e.Seconds() + unit + " and try again"
	}
	return "too many failed authentications from your address; wait " + e.Seconds() + unit + " and try again"
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimited) Is(target error) bool { return target == ErrRateLimited }

// Seconds is RetryAfter in whole seconds, at least 1, for Retry-After.
func (e *RateLimited) Seconds() string {
	return strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds()))))
}

// FailureLimiter throttles client addresses that fail authentication
// repeatedly: each address has a token bucket that only failures drain, so
// an address that never fails is never slowed, and an attacker flooding
// from one address does not lock out anyone else. IPv6 addresses count by
// their /64 (AddressKey). Checking an address that never failed takes no
// lock.
type FailureLimiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex   // serialises inserts and the size bound
	n       atomic.Int64 // addresses tracked; 0 lets Check skip AddressKey
	buckets sync.Map     // AddressKey(ip) → *failBucket
}

// failBucket is one address's failures: the bucket they drain, and the
// password checks begun and not yet settled (Begin), which count as spent
// until they are.
type failBucket struct {
	lim      *rate.Limiter
	inflight atomic.Int64
}

// NewFailureLimiter allows burst failures per address, refilled one per every.
func NewFailureLimiter(burst int, every time.Duration) *FailureLimiter {
	return &FailureLimiter{every: every, burst: burst}
}

// Blocked reports whether ip has used up its failures.
func (l *FailureLimiter) Blocked(ip string) bool {
	_, blocked := l.Check(ip)
	return blocked
}

// Check reports whether ip has used up its failures and, if so, how long
// until it may try again.
func (l *FailureLimiter) Check(ip string) (retryAfter time.Duration, blocked bool) {
	if l == nil || l.n.Load() == 0 {
		return 0, false // nobody failed: no key to compute (it parses IPv6)
	}
	v, ok := l.buckets.Load(AddressKey(ip))
	if !ok {
		return 0, false
	}
	b := v.(*failBucket)
	tokens := b.lim.Tokens() - float64(b.inflight.Load())
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) * float64(l.every)), true
}

// Err returns a *RateLimited for ip when it is blocked, else nil.
func (l *FailureLimiter) Err(ip string) error {
	if d, blocked := l.Check(ip); blocked {
		return &RateLimited{RetryAfter: d}
	}
	return nil
}

// Begin counts a password check of ip as a failure until it is settled,
// and returns a *RateLimited instead when ip has none left. end settles
// it: a failed check is recorded as a failure, any other is forgotten.
//
// Checking first (Err) and counting after (Fail) lets a burst through:
// every request of a burst passes the check before the first is counted,
// so one address sending 200 guesses at once had all 200 checked against a
// limit of 20. Counted from the start, the checks in flight use up the
// address's failures as failures would.
func (l *FailureLimiter) Begin(ip string) (end func(failed bool), err error) {
	if l == nil {
		return func(bool) {}, nil
	}
	b := l.bucket(AddressKey(ip))
	if left := b.lim.Tokens() - float64(b.inflight.Add(1)); left < 0 {
		b.inflight.Add(-1)
		return nil, &RateLimited{RetryAfter: time.Duration(-left * float64(l.every))}
	}
	return func(failed bool) {
		if failed {
			b.lim.Allow()
		}
		b.inflight.Add(-1)
	}, nil
}

// Fail records one failure of ip.
func (l *FailureLimiter) Fail(ip string) {
	if l == nil {
		return
	}
	l.bucket(AddressKey(ip)).lim.Allow()
}

// bucket is the failures of the address key ip, made on first use.
func (l *FailureLimiter) bucket(ip string) *failBucket {
	v, ok := l.buckets.Load(ip)
	if !ok {
		l.mu.Lock()
		if l.n.Load() > 100_000 {
			// Bounded memory under a flood of addresses: forget them all.
			l.buckets.Clear()
			l.n.Store(0)
		}
		var loaded bool
		v, loaded = l.buckets.LoadOrStore(ip, &failBucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)})
		if !loaded {
			l.n.Add(1)
		}
		l.mu.Unlock()
	}
	return v.(*failBucket)
}
