package auth_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// TestAccountLimiterThrottlesANameNotItsKnownAddresses pins the rules: a
// name is refused after its burst of failures from different addresses,
// whatever the letter case; an address that signed in to it recently is
// not; the budget refills with time; other names are not touched; and one
// address alone cannot hold a name throttled.
func TestAccountLimiterThrottlesANameNotItsKnownAddresses(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := auth.NewAccountLimiterAt(3, time.Minute, 24*time.Hour, 100, func() time.Time { return now })
	l.Succeed("ada", "2001:db8:1::5")
	for i := range 3 {
		if err := l.Err("ada", "192.0.2.1"); err != nil {
			t.Fatalf("throttled before the burst was used: %v", err)
		}
		l.Fail("ADA", fmt.Sprintf("192.0.2.%d", i+1))
	}
	var rl *auth.RateLimited
	if err := l.Err("Ada", "192.0.2.99"); !errors.As(err, &rl) || !rl.Account || rl.Seconds() != "60" {
		t.Fatalf("after 3 failures from anywhere: %v; want an account RateLimited for 60 s", err)
	}
	if err := l.Err("ada", "2001:db8:1::77"); err != nil { // the same /64 that signed in
		t.Fatalf("the address that signed in to ada is throttled: %v", err)
	}
	if err := l.Err("grace", "192.0.2.99"); err != nil {
		t.Fatalf("another name is throttled: %v", err)
	}
	now = now.Add(time.Minute)
	if err := l.Err("ada", "192.0.2.99"); err != nil {
		t.Fatalf("a minute later: %v; want one more try", err)
	}
	now = now.Add(24 * time.Hour)
	for i := range 3 {
		l.Fail("ada", fmt.Sprintf("198.51.100.%d", i))
	}
	if err := l.Err("ada", "2001:db8:1::5"); err == nil {
		t.Fatal("an address that signed in a day ago (past trust) is still exempt")
	}

	// One address failing as fast as it can drains a name no faster than
	// it refills.
	for range 1000 {
		l.Fail("grace", "203.0.113.9")
		now = now.Add(time.Second)
	}
	if err := l.Err("grace", "192.0.2.99"); err != nil {
		t.Fatalf("one address failing 1000 times holds grace throttled: %v", err)
	}
}

// TestAccountLimiterMemoryIsBoundedAndFloodsKeepThrottledNames sends
// failures for many made-up names: the limiter tracks no more than its
// bound, and a name it is throttling stays throttled through the flood.
func TestAccountLimiterMemoryIsBoundedAndFloodsKeepThrottledNames(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := auth.NewAccountLimiterAt(5, time.Hour, 24*time.Hour, 1000, func() time.Time { return now })
	for i := range 5 {
		l.Fail("victim", fmt.Sprintf("192.0.2.%d", i))
	}
	for i := range 20_000 {
		l.Fail(fmt.Sprintf("made-up-%d", i), "203.0.113.1")
		if i%100 == 0 {
			now = now.Add(time.Second)
		}
		if n := l.Tracked(); n > 1000 {
			t.Fatalf("%d names tracked, bound 1000", n)
		}
	}
	if err := l.Err("victim", "192.0.2.1"); err == nil {
		t.Fatal("a flood of made-up names reset the throttled name")
	}
}

// TestAccountLimiterOneAddressCannotHoldADrainedName: once enough
// addresses have emptied a name's bucket, one address trying each time
// the bucket allows a try must not keep it empty: it drains the name
// less often than the bucket refills, so a person signing in from a new
// address (a break-glass owner in SSO-only mode, say) gets in soon.
func TestAccountLimiterOneAddressCannotHoldADrainedName(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := auth.NewAccountLimiterAt(10, time.Minute, 30*24*time.Hour, 1000, func() time.Time { return now })
	for i := range 10 {
		l.Fail("breakglass", fmt.Sprintf("192.0.2.%d", i))
	}
	if l.Err("breakglass", "198.51.100.1") == nil {
		t.Fatal("not throttled after 10 failures from 10 addresses")
	}
	allowed := 0
	for range 60 * 60 { // an hour, second by second
		now = now.Add(time.Second)
		if l.Err("breakglass", "203.0.113.9") == nil { // the attacker's one address, first in line
			l.Fail("breakglass", "203.0.113.9")
		}
		if l.Err("breakglass", "198.51.100.1") == nil { // the real person, from a new address
			allowed++
		}
	}
	if allowed == 0 {
		t.Fatal("one address held the name throttled for an hour: the person could not sign in from a new address once")
	}
}
