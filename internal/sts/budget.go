package sts

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/latchkey/latchkey/internal/auth"
)

// addressBudget is a token bucket per client address that every use drains,
// for endpoints that create something without authentication (device
// codes): one address cannot create without bound, and a flood from one
// address leaves every other address its whole budget. The address is the
// edge's (auth.ClientOf), so a forwarding header counts only from a
// trusted proxy; an IPv6 address counts by its /64 (auth.AddressKey).
type addressBudget struct {
	every time.Duration // one use comes back per every
	burst int           // uses an address may make at once

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBudgetAddresses bounds the memory a flood of addresses can take; past
// it every address starts again with a full budget.
const maxBudgetAddresses = 100_000

// take uses one of ip's budget. When none is left it reports false and how
// long until one comes back.
func (b *addressBudget) take(ip string, now time.Time) (retryAfter time.Duration, ok bool) {
	ip = auth.AddressKey(ip) // IPv6 by its /64
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.buckets[ip]
	if l == nil {
		if b.buckets == nil || len(b.buckets) >= maxBudgetAddresses {
			b.buckets = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(rate.Every(b.every), b.burst)
		b.buckets[ip] = l
	}
	if l.AllowN(now, 1) {
		return 0, true
	}
	return time.Duration((1 - l.TokensAt(now)) * float64(b.every)), false
}

// retryAfterSeconds is d in whole seconds, at least 1, for Retry-After.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
