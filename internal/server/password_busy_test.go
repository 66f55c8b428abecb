package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// busyWords is what a login that waited too long for a password check
// says; dbWords what a login whose user lookup outlasted the timeout says.
const (
	busyWords = "busy checking other passwords"
	dbWords   = "the database did not answer in time"
)

type answer struct {
	status int
	retry  string
	body   string
}

// burst sends n logins at once and returns their answers. On a loaded
// machine a whole burst may time out before any login reaches the
// password gate (the user lookup itself outlasts the short
// --request-timeout, and says so); the burst is then sent again, up to
// three times, until some login waited at the gate.
func burst(n int, send func(i int) (*http.Response, error)) []answer {
	var out []answer
	for range 3 {
		out = burstOnce(n, send)
		if slices.ContainsFunc(out, func(a answer) bool { return strings.Contains(a.body, busyWords) }) {
			break
		}
	}
	return out
}

func burstOnce(n int, send func(i int) (*http.Response, error)) []answer {
	var wg sync.WaitGroup
	out := make([]answer, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := send(i)
			if err != nil {
				out[i] = answer{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			out[i] = answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
		}()
	}
	wg.Wait()
	return out
}

// checkBusy asserts that some logins were refused for a busy password gate,
// with its own words, 503 and Retry-After. A login that waited at the gate
// and blamed the database would not say the gate's words, so busy answers
// prove the gate names itself; a login whose user lookup itself outlasted
// the short timeout on a loaded machine rightly blames the database, and is
// only logged.
func checkBusy(t *testing.T, answers []answer, detail func(string) string) {
	t.Helper()
	busy := 0
	for _, a := range answers {
		if a.status != http.StatusServiceUnavailable {
			continue
		}
		d := detail(a.body)
		if strings.Contains(d, dbWords) {
			t.Logf("a login's user lookup outlasted the timeout (a loaded machine): %.200s", d)
		}
		if strings.Contains(d, busyWords) {
			busy++
			if a.retry == "" {
				t.Errorf("a busy answer has no Retry-After")
			}
		}
	}
	if busy == 0 {
		var got []string
		for _, a := range answers {
			got = append(got, fmt.Sprintf("%d %.200s", a.status, detail(a.body)))
		}
		t.Errorf("no login of the burst was answered 503 with %q:\n%s", busyWords, strings.Join(got, "\n"))
	}
}

// TestALoginThatWaitsTooLongForAPasswordCheckSaysTheServerIsBusy sends a
// burst of logins to a server with a very short --request-timeout. Password
// checks run a few at a time (argon2 holds 19 MiB each), so most of the
// burst waits its turn past the timeout: those answers must say the server
// is busy checking passwords, with 503 and Retry-After, on the API and on
// the console's login page, and not that the database was slow.
func TestALoginThatWaitsTooLongForAPasswordCheckSaysTheServerIsBusy(t *testing.T) {
	const n = 16 // under the 20 failures at once one address may have checked
	// Each surface has a server of its own: the failed logins of one burst
	// count against the address's failure limit, and two bursts on one
	// server would pass it (the second then answers 429, not 503).
	t.Run("api", func(t *testing.T) {
		s := servertest.Start(t, "--request-timeout", "150ms")
		answers := burst(n, func(i int) (*http.Response, error) {
			body := fmt.Sprintf(`{"username":"nobody-%d","password":"wrong-password"}`, i)
			return http.Post(s.URL+"/api/v1/auth/login", "application/json", strings.NewReader(body))
		})
		checkBusy(t, answers, func(b string) string {
			var p struct{ Detail string }
			if json.Unmarshal([]byte(b), &p) != nil {
				return b
			}
			return p.Detail
		})
	})
	t.Run("console", func(t *testing.T) {
		s := servertest.Start(t, "--request-timeout", "150ms")
		answers := burst(n, func(i int) (*http.Response, error) {
			form := url.Values{"username": {fmt.Sprintf("someone-%d", i)}, "password": {"wrong-password"}, "csrf_token": {"same-value"}}
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.URL)
			req.AddCookie(&http.Cookie{Name: "latchkey_login_csrf", Value: "same-value"})
			return http.DefaultClient.Do(req)
		})
		checkBusy(t, answers, func(b string) string { return b })
	})
}
