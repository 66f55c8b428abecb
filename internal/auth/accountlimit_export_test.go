package auth

import "time"

// NewAccountLimiterAt is NewAccountLimiter with a clock and a bound on the
// names it tracks, for tests.
func NewAccountLimiterAt(burst int, every, trust time.Duration, maxEntries int, now func() time.Time) *AccountLimiter {
	l := NewAccountLimiter(burst, every, trust)
	l.maxEntries, l.now = maxEntries, now
	return l
}

// Tracked is how many user names have failures remembered.
func (l *AccountLimiter) Tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.fails)
}
