package service

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Expiry is how a caller asks for a token's expiration: at most one of a
// lifetime ("720h", "30d"), an absolute time, or no expiry. All empty means
// the policy's default lifetime.
type Expiry struct {
	ExpiresIn string
	ExpiresAt *time.Time
	NoExpiry  bool
}

func (e Expiry) isZero() bool { return e.ExpiresIn == "" && e.ExpiresAt == nil && !e.NoExpiry }

// Bounds on lifetimes; beyond them a request is almost surely a mistake.
const (
	minLifetime = time.Minute
	maxLifetime = 100 * 365 * 24 * time.Hour
)

// ParseDuration reads a Go duration ("720h", "90m") or a whole number of days
// or weeks ("30d", "2w"), which Go's parser lacks but people write.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		v, err := strconv.ParseInt(s[:n-1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: use a number of days like \"30d\" or a Go duration like \"720h\"", s)
		}
		unit := 24 * time.Hour
		if s[n-1] == 'w' {
			unit *= 7
		}
		if v > int64(maxLifetime/unit) || v < -int64(maxLifetime/unit) {
			return 0, fmt.Errorf("%q is too long: at most 100 years", s)
		}
		return time.Duration(v) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if goDurationRE.MatchString(s) {
			// Well written, but past what a time.Duration holds (~292 years).
			return 0, fmt.Errorf("%q is too long: at most 100 years", s)
		}
		return 0, fmt.Errorf("%q is not a duration: write it like \"720h\", \"90m\" or \"30d\"", s)
	}
	return d, nil
}

// goDurationRE is the syntax of a Go duration, whatever its size.
var goDurationRE = regexp.MustCompile(`^[-+]?(([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// FormatGoDuration writes d as a Go duration string that time.ParseDuration
// reads back ("720h" for 30 days, "1h30m0s"), "" for 0: what the API
// answers, per its contract.
func FormatGoDuration(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}

// FormatDuration writes d the way ParseDuration reads it, in days when whole.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// resolveExpiry turns a request into an expiry time (nil = never) under the
// policy, or explains why the request is refused.
func resolveExpiry(e Expiry, now time.Time, p store.Policy) (*time.Time, error) {
	set := 0
	if e.ExpiresIn != "" {
		set++
	}
	if e.ExpiresAt != nil {
		set++
	}
	if e.NoExpiry {
		set++
	}
	if set > 1 {
		return nil, invalid("expires_in", "give only one of expires_in, expires_at and no_expiry")
	}
	var at time.Time
	switch {
	case e.NoExpiry:
		if !p.AllowNoExpiry || p.MaxLifetime > 0 {
			return nil, invalid("no_expiry", "the token policy does not allow tokens without expiration; choose a lifetime%s", maxHint(p))
		}
		return nil, nil
	case e.ExpiresAt != nil:
		at = e.ExpiresAt.UTC()
		if !at.After(now.Add(minLifetime)) {
			return nil, invalid("expires_at", "expires_at %s is not in the future; choose a time at least a minute from now", e.ExpiresAt.Format(time.RFC3339))
		}
		if at.Sub(now) > maxLifetime {
			return nil, invalid("expires_at", "expires_at is more than 100 years away")
		}
	case e.ExpiresIn != "":
		d, err := ParseDuration(e.ExpiresIn)
		if err != nil {
			return nil, invalid("expires_in", "expires_in: %v", err)
		}
		if d < minLifetime {
			return nil, invalid("expires_in", "expires_in must be at least 1m; got %q", e.ExpiresIn)
		}
		if d > maxLifetime {
			return nil, invalid("expires_in", "expires_in must be at most 100 years")
		}
		at = now.Add(d)
	default:
		if p.DefaultLifetime <= 0 {
			if p.AllowNoExpiry && p.MaxLifetime == 0 {
				return nil, nil
			}
			at = now.Add(180 * 24 * time.Hour)
		} else {
			at = now.Add(p.DefaultLifetime)
		}
		if p.MaxLifetime > 0 && at.Sub(now) > p.MaxLifetime {
			at = now.Add(p.MaxLifetime)
		}
	}
	if p.MaxLifetime > 0 && at.Sub(now) > p.MaxLifetime+time.Second {
		field := "expires_in"
		if e.ExpiresAt != nil {
			field = "expires_at"
		}
		return nil, invalid(field, "the requested lifetime exceeds the maximum token lifetime of %s set by policy; choose %s or less", FormatDuration(p.MaxLifetime), FormatDuration(p.MaxLifetime))
	}
	at = at.Truncate(time.Microsecond)
	return &at, nil
}

func maxHint(p store.Policy) string {
	if p.MaxLifetime > 0 {
		return " of at most " + FormatDuration(p.MaxLifetime)
	}
	return ""
}

// EffectiveExpiry is when a token stops working: its own expiry, capped by
// the policy's current maximum lifetime counted from when its secret was
// issued (lowering the maximum later also caps existing tokens). When the
// policy does not allow tokens without expiration, a token issued without
// one is capped the same way by the maximum lifetime or, if there is none,
// by the default lifetime: a policy change reaches existing tokens at use
// time, never only new ones.
func EffectiveExpiry(t *store.Token, p store.Policy) *time.Time {
	life := LifetimeCap(t.ExpiresAt == nil, p)
	if life <= 0 {
		return t.ExpiresAt
	}
	issued := t.CreatedAt
	if t.RegeneratedAt != nil {
		issued = *t.RegeneratedAt
	}
	cap := issued.Add(life)
	if t.ExpiresAt == nil || cap.Before(*t.ExpiresAt) {
		return &cap
	}
	return t.ExpiresAt
}

// DefaultLifetime is the lifetime of a token when the policy names none.
const DefaultLifetime = 180 * 24 * time.Hour

// LifetimeCap is the longest a token may live under p, counted from its
// issuance; 0 means no cap. neverExpires tells a token issued without an
// expiry, which a policy forbidding that caps too.
func LifetimeCap(neverExpires bool, p store.Policy) time.Duration {
	if p.MaxLifetime > 0 {
		return p.MaxLifetime
	}
	if neverExpires && !p.AllowNoExpiry {
		if p.DefaultLifetime > 0 {
			return p.DefaultLifetime
		}
		return DefaultLifetime
	}
	return 0
}
