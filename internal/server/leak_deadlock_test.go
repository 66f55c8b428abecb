package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestOverlappingLeakReportsDoNotDeadlock: two scanners report the same
// leaked tokens at once, one in the opposite order of the other (as two
// scanners reading the same paste from different ends do). Each report is
// one transaction that locks the tokens it names; were they locked in the
// order of the report, the two would wait on each other and PostgreSQL
// would abort one (a deadlock, 40P01), answered 503. Every report of every
// round must answer 200, each naming every token true_positive.
//
// Each report also names a token of its own, so that it always ends
// something and the caller's failure budget (a report that ends nothing
// counts as a failed attempt) does not run out over the rounds.
func TestOverlappingLeakReportsDoNotDeadlock(t *testing.T) {
	u, err := url.Parse(testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-cdeadlock_timeout=50") // find a deadlock fast, if there is one
	u.RawQuery = q.Encode()
	s := servertest.StartPostgres(t, u.String())
	admin := s.AdminSession(t)

	const shared, rounds = 8, 25
	var secrets []string
	for i := range shared {
		secrets = append(secrets, s.CreateToken(t, admin, map[string]any{"name": fmt.Sprintf("shared-%d", i), "scopes": []string{"repo:read"}}).Secret)
	}
	reversed := slices.Clone(secrets)
	slices.Reverse(reversed)

	post := func(report []map[string]string) (int, []byte, error) {
		b, err := json.Marshal(report)
		if err != nil {
			return 0, nil, err
		}
		resp, err := s.Client.Post(s.URL+"/api/v1/leaks", "application/json", bytes.NewReader(b))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	for round := range rounds {
		var reports [2][]map[string]string
		for i, order := range [][]string{secrets, reversed} {
			own := s.CreateToken(t, admin, map[string]any{"name": fmt.Sprintf("own-%d-%d", round, i), "scopes": []string{"repo:read"}}).Secret
			reports[i] = append(reports[i], map[string]string{"token": own, "type": "latchkey"})
			for _, secret := range order {
				reports[i] = append(reports[i], map[string]string{"token": secret, "type": "latchkey"})
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		for _, report := range reports {
			wg.Go(func() {
				st, body, err := post(report)
				var verdicts []struct {
					Label string `json:"label"`
				}
				if err == nil && st == http.StatusOK {
					err = json.Unmarshal(body, &verdicts)
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case st != http.StatusOK:
					failures = append(failures, fmt.Sprintf("%d %s", st, body))
				default:
					for _, v := range verdicts {
						if v.Label != "true_positive" {
							failures = append(failures, fmt.Sprintf("verdicts %s; want every token true_positive", body))
							break
						}
					}
				}
			})
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("round %d: two overlapping leak reports: %v; want both answered 200", round, failures)
		}
	}
}

// TestALeakReportCaughtInADeadlockIsRetried: another session's change meets
// a leak report in a cycle of locks, and PostgreSQL aborts the report's
// transaction (40P01). Everything the report did was in that transaction,
// so the server runs it once more instead of answering the scanner 503:
// the report answers 200 and the token is revoked.
//
// The cycle is made as in TestADeadlockAnswers503SayingAChangeConflicted:
// a trigger makes the report's revocation, which holds the token's row,
// wait for an advisory lock the test's session holds; that session then
// updates the same row.
func TestALeakReportCaughtInADeadlockIsRetried(t *testing.T) {
	s := startDeadlockServer(t)
	admin := s.AdminSession(t)
	leaked := s.CreateToken(t, admin, map[string]any{"name": "leaked", "scopes": []string{"repo:read"}})
	tx := setDeadlockTrap(t, s, "OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL")

	type answer struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := s.Client.Post(s.URL+"/api/v1/leaks", "application/json",
			strings.NewReader(`[{"token":"`+leaked.Secret+`","type":"latchkey"}]`))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, body, err}
	}()
	closeDeadlockCycle(t, tx, leaked.ID(), "the report's revocation")

	var a answer
	select {
	case a = <-answered:
	case <-time.After(20 * time.Second):
		t.Fatal("the report still waits after the deadlock")
	}
	if a.err != nil || a.status != http.StatusOK || !strings.Contains(string(a.body), "true_positive") {
		t.Fatalf("leak report caught in a deadlock: %d %s (%v); want 200 true_positive after one retry", a.status, a.body, a.err)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", leaked.Secret, nil); st != http.StatusUnauthorized {
		t.Errorf("the reported token after the report: %d %s; want 401", st, body)
	}
}
