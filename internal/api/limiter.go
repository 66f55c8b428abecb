package api

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

var errRateLimited = errors.New("too many failed attempts from your address; wait a minute and try again")

// FailureLimiter throttles clients that fail authentication repeatedly:
// each address has a token bucket that only failures drain.
type FailureLimiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewFailureLimiter allows burst failures per address, refilled one per every.
func NewFailureLimiter(burst int, every time.Duration) *FailureLimiter {
	return &FailureLimiter{every: every, burst: burst, buckets: map[string]*rate.Limiter{}}
}

// Blocked reports whether ip has used up its failures.
func (l *FailureLimiter) Blocked(ip string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	return ok && b.Tokens() < 1
}

// Fail records one failure of ip.
func (l *FailureLimiter) Fail(ip string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) > 100_000 {
			clear(l.buckets)
		}
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.buckets[ip] = b
	}
	b.Allow()
}
