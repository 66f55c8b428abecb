package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestUsageIsCountedWithEitherSecretDuringAGracePeriod pins that after a
// regeneration with a grace period every verified request is counted and
// moves last_used_at, whether it used the new secret or the previous one,
// and that the uses after a regeneration are written by the next flushes
// like a first use (not a minute later, as a busy token's are).
func TestUsageIsCountedWithEitherSecretDuringAGracePeriod(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "rolling", "scopes": []string{"repo"}})
		me(t, s, bearer(tk.Secret))
		var first time.Time
		eventually(t, 10*time.Second, "the first use to be recorded", func() bool {
			got := getToken(t, s, w.Member, tk.Token.ID)
			if got.LastUsedAt != nil {
				first = *got.LastUsedAt
			}
			return got.LastUsedAt != nil
		})
		regen := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"grace_period": "10m"})
		time.Sleep(20 * time.Millisecond) // a later use is a later time, even at the store's precision
		for range 3 {
			me(t, s, bearer(regen.Secret))
		}
		for range 2 {
			me(t, s, bearer(tk.Secret)) // the previous secret, in its grace period
		}
		total := func() int64 {
			u := decode[usageDays](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens/" + tk.Token.ID + "/usage", Auth: w.Member}), http.StatusOK)
			var n int64
			for _, d := range u.Days {
				n += d.Count
			}
			return n
		}
		eventually(t, 5*time.Second, "all six uses to be counted within a few flushes", func() bool { return total() >= 6 })
		if n := total(); n != 6 {
			t.Errorf("usage counts %d requests, want 6 (1 before, 3 with the new secret, 2 with the previous one)", n)
		}
		got := getToken(t, s, w.Member, tk.Token.ID)
		if got.LastUsedAt == nil || !got.LastUsedAt.After(first) {
			t.Errorf("last_used_at %v did not advance past the use before the regeneration (%v)", got.LastUsedAt, first)
		}
	}, "--usage-flush-interval=1s")
}

// usageDays is the answer of GET /api/v1/tokens/{id}/usage.
type usageDays struct {
	Days []struct {
		Day   string `json:"day"`
		Count int64  `json:"count"`
	} `json:"days"`
}
