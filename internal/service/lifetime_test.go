package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

const day = 24 * time.Hour

func TestParseDurationReadsGoDurationsDaysAndWeeks(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"720h", 720 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"30d", 30 * day, true},
		{" 7d ", 7 * day, true},
		{"2w", 14 * day, true},
		{"-3d", -3 * day, true},
		{"1h30m", 90 * time.Minute, true},
		{"", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"xd", 0, false},
		{"3y", 0, false},
		{"soon", 0, false},
		{"99999999999999999999d", 0, false},
		{"40000d", 0, false}, // over 100 years
	} {
		got, err := service.ParseDuration(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	// A well-written duration too large to hold is said to be too long,
	// not to be no duration.
	for in, says := range map[string]string{"99999999h": "too long", "1e3h": "not a duration", "720x": "not a duration", "-99999999h": "too long"} {
		if _, err := service.ParseDuration(in); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseDuration(%q) = %v; want an error saying %q", in, err, says)
		}
	}
}

func TestFormatGoDurationIsReadByTimeParseDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", 30 * day: "720h", 36 * time.Hour: "36h", 90 * time.Minute: "1h30m0s", time.Minute: "1m0s"} {
		got := service.FormatGoDuration(d)
		if got != want {
			t.Errorf("FormatGoDuration(%v) = %q; want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); d != 0 && (err != nil || back != d) {
			t.Errorf("time.ParseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}

func TestFormatDurationWritesWholeDaysAsDays(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", 30 * day: "30d", 36 * time.Hour: "36h0m0s", time.Minute: "1m0s"} {
		if got := service.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if d != 0 {
			if back, err := service.ParseDuration(service.FormatDuration(d)); err != nil || back != d {
				t.Errorf("round trip of %v: %v, %v", d, back, err)
			}
		}
	}
}

func TestEffectiveExpiryCapsFromIssuance(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-40 * day)
	regenerated := now.Add(-5 * day)
	at := func(t time.Time) *time.Time { return &t }
	for _, c := range []struct {
		name  string
		tok   store.Token
		max   time.Duration
		want  *time.Time
		state store.TokenState
	}{
		{"no cap, never", store.Token{CreatedAt: created}, 0, nil, store.StateActive},
		{"no cap, own expiry", store.Token{CreatedAt: created, ExpiresAt: at(now.Add(3 * day))}, 0, at(now.Add(3 * day)), store.StateExpiring},
		{"cap on a never-expiring token", store.Token{CreatedAt: created}, 30 * day, at(created.Add(30 * day)), store.StateExpired},
		{"cap below its own expiry", store.Token{CreatedAt: created, ExpiresAt: at(now.Add(90 * day))}, 60 * day, at(created.Add(60 * day)), store.StateActive},
		{"own expiry below the cap", store.Token{CreatedAt: created, ExpiresAt: at(now.Add(day))}, 365 * day, at(now.Add(day)), store.StateExpiring},
		{"counted from regeneration", store.Token{CreatedAt: created, RegeneratedAt: &regenerated}, 30 * day, at(regenerated.Add(30 * day)), store.StateActive},
		{"revoked wins", store.Token{CreatedAt: created, RevokedAt: &regenerated}, 30 * day, at(created.Add(30 * day)), store.StateRevoked},
	} {
		p := store.Policy{MaxLifetime: c.max, AllowNoExpiry: true} // forbidding it caps never-expiring tokens too (TestExpiredTokensAreNotRegenerated...)
		got := service.EffectiveExpiry(&c.tok, p)
		if (got == nil) != (c.want == nil) || (got != nil && !got.Equal(*c.want)) {
			t.Errorf("%s: EffectiveExpiry = %v, want %v", c.name, got, c.want)
		}
		if s := service.EffectiveState(&c.tok, p, now); s != c.state {
			t.Errorf("%s: EffectiveState = %s, want %s", c.name, s, c.state)
		}
	}
}
