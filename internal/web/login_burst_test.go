package web_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// addressBurst is how many failed logins an address gets before it is
// throttled (internal/server: auth.NewFailureLimiter(20, ...)).
const addressBurst = 20

// TestABurstOfGuessesIsLimitedAsIfSentOneByOne: the limits were checked
// before a password check and counted after it, so every guess of a burst
// sent at once passed the check before the first was counted (200 of 200
// guesses from one address were checked against a limit of 20). Counted
// from the start, a burst gets no more guesses than the limit, from one
// address or, for one user name, from many; the real owner still signs in
// from an address the burst did not use.
func TestABurstOfGuessesIsLimitedAsIfSentOneByOne(t *testing.T) {
	s := servertest.Start(t, "--trusted-proxies", "127.0.0.1/32")
	// The owner signs in once from their usual address, before any guess.
	if code, detail := apiLoginFrom(t, s, "192.0.2.1", servertest.AdminUser, servertest.AdminPassword); code != http.StatusOK {
		t.Fatalf("the owner's first sign-in: %d %s", code, detail)
	}
	burst := func(n int, ip, user func(i int) string) (checked, limited int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				code, detail := apiLoginFrom(t, s, ip(i), user(i), "wrong-password-guess")
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case http.StatusUnauthorized:
					checked++
				case http.StatusTooManyRequests:
					limited++
				default:
					t.Errorf("guess %d: %d %s", i, code, detail)
				}
			})
		}
		wg.Wait()
		return checked, limited
	}

	// One address, one burst, many names (so only the address's limit applies).
	checked, limited := burst(60, func(int) string { return "198.51.100.7" }, func(i int) string { return fmt.Sprintf("guess-%d", i) })
	if checked > addressBurst || checked+limited != 60 {
		t.Errorf("60 guesses at once from one address: %d checked, %d limited; want at most %d checked", checked, limited, addressBurst)
	}

	// One name, one burst, each guess from its own address.
	checked, limited = burst(40, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }, func(int) string { return servertest.AdminUser })
	if checked > accountBurst || checked+limited != 40 {
		t.Errorf("40 guesses at once at one name from 40 addresses: %d checked, %d limited; want at most %d checked", checked, limited, accountBurst)
	}

	// The owner, from the address they signed in from before, still gets in.
	if code, detail := apiLoginFrom(t, s, "192.0.2.1", servertest.AdminUser, servertest.AdminPassword); code != http.StatusOK {
		t.Errorf("the owner from their usual address after the bursts: %d %s", code, detail)
	}
}
