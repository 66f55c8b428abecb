package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
)

func TestTokensUnusedLongerThanPolicyAreRevokedByTheCleanupJob(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		stale := s.CreateToken(t, admin, map[string]any{"name": "stale", "scopes": []string{"repo:read"}})
		fresh := s.CreateToken(t, admin, map[string]any{"name": "fresh", "scopes": []string{"repo:read"}})
		ctx := context.Background()
		// The job runs 40 days from now: the stale token was never used
		// since its creation, the fresh one was used the day before.
		later := time.Now().Add(40 * 24 * time.Hour)
		if err := s.App.Store.RecordTokenUse(ctx, []store.TokenUse{
			{TokenID: fresh.ID(), At: later.Add(-24 * time.Hour), IP: "192.0.2.1", Counts: map[string]int64{}},
		}); err != nil {
			t.Fatal(err)
		}

		// Without the policy nothing is revoked.
		if n, err := s.App.Services.Tokens.RevokeUnused(ctx, later); err != nil || n != 0 {
			t.Fatalf("RevokeUnused without policy = %d, %v; want 0", n, err)
		}
		s.JSON(t, http.MethodPut, "/api/v1/policy", admin, map[string]any{
			"default_lifetime": "180d", "allow_no_expiry": true, "creation": "everyone", "revoke_unused_for": "30d",
		}, http.StatusOK, nil)

		n, err := s.App.Services.Tokens.RevokeUnused(ctx, later)
		if err != nil || n != 1 {
			t.Fatalf("RevokeUnused = %d, %v; want 1", n, err)
		}
		if status, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", stale.Secret, nil); status != http.StatusUnauthorized {
			t.Fatalf("token unused for 40 days still works: %d", status)
		}
		s.JSON(t, http.MethodGet, "/api/v1/me", fresh.Secret, nil, http.StatusOK, nil)

		var audit struct {
			Items []struct {
				TargetID string         `json:"target_id"`
				Details  map[string]any `json:"details"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?action=token.revoke", admin, nil, http.StatusOK, &audit)
		if len(audit.Items) != 1 || audit.Items[0].TargetID != stale.ID() || audit.Items[0].Details["reason"] != "unused" {
			t.Fatalf("audit = %+v, want one revocation of the stale token for being unused", audit.Items)
		}
	})
}

// TestCleanupCountsUsesStillInTheUsageJournal: on SQLite a large flush of
// first uses waits in the usage journal for up to a minute before it
// reaches the tokens. The cleanup job folds it first, so a token used a
// moment ago after weeks of silence is not revoked as unused.
func TestCleanupCountsUsesStillInTheUsageJournal(t *testing.T) {
	s := servertest.Start(t) // SQLite
	journal, ok := s.App.Store.(interface {
		JournalTokenUse(context.Context, []store.TokenUse) error
	})
	if !ok {
		t.Fatalf("the SQLite store has no usage journal")
	}
	admin := s.AdminSession(t)
	ctx := context.Background()
	owner, err := s.App.Store.GetUserByUsername(ctx, servertest.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-40 * 24 * time.Hour) // made 40 days ago, not used since
	var ids []string
	for i, name := range []string{"journaled", "silent"} {
		tk := &store.Token{ID: fmt.Sprintf("01JOURNALTEST%d", i), UserID: owner.ID, Kind: store.TokenPersonal, Name: name,
			Scopes: []string{"repo:read"}, Digest: bytes.Repeat([]byte{byte(i + 1)}, 32), Hint: "abcd", CreatedAt: old, UpdatedAt: old}
		if err := s.App.Store.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	if err := journal.JournalTokenUse(ctx, []store.TokenUse{
		{TokenID: ids[0], At: time.Now().Add(-time.Minute), IP: "192.0.2.1", Counts: map[string]int64{}},
	}); err != nil {
		t.Fatal(err)
	}
	s.JSON(t, http.MethodPut, "/api/v1/policy", admin, map[string]any{
		"default_lifetime": "180d", "allow_no_expiry": true, "creation": "everyone", "revoke_unused_for": "30d",
	}, http.StatusOK, nil)
	var run struct {
		Result map[string]any `json:"result"`
	}
	s.JSON(t, http.MethodPost, "/api/v1/jobs/cleanup/run", admin, nil, http.StatusOK, &run)
	if run.Result["revoked_unused_tokens"] != float64(1) {
		t.Errorf("cleanup revoked %v tokens; want 1 (the silent one)", run.Result["revoked_unused_tokens"])
	}
	for i, wantRevoked := range []bool{false, true} {
		got, err := s.App.Store.GetToken(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if (got.RevokedAt != nil) != wantRevoked {
			t.Errorf("token %q revoked at %v; want revoked: %v", got.Name, got.RevokedAt, wantRevoked)
		}
	}
}

// TestCleanupDeletesUsageDaysNoOneCanReadAnyMore: the usage API reads at
// most store.UsageDaysKept days back, so the cleanup job deletes the
// per-day counts of older days (else a million tokens leave a million rows
// a day for ever). The scheduled job does it once a day, a run on demand
// always; the days still readable stay, and so does the token's last use.
func TestCleanupDeletesUsageDaysNoOneCanReadAnyMore(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		tok := s.CreateToken(t, admin, map[string]any{"name": "years", "scopes": []string{"repo:read"}})
		ctx := context.Background()
		now := time.Now().UTC()
		dayAgo := func(days int) string { return now.AddDate(0, 0, -days).Format(time.DateOnly) }
		record := func(counts map[string]int64) {
			t.Helper()
			if err := s.App.Store.RecordTokenUse(ctx, []store.TokenUse{
				{TokenID: tok.ID(), At: now.Add(-time.Minute), IP: "192.0.2.1", Counts: counts},
			}); err != nil {
				t.Fatal(err)
			}
		}
		usage := func() map[string]float64 {
			t.Helper()
			var out struct {
				Days []struct {
					Day   string  `json:"day"`
					Count float64 `json:"count"`
				} `json:"days"`
			}
			s.JSON(t, http.MethodGet, "/api/v1/tokens/"+tok.ID()+"/usage?days=366", admin, nil, http.StatusOK, &out)
			got := map[string]float64{}
			for _, d := range out.Days {
				got[d.Day] = d.Count
			}
			return got
		}
		stored := func() []store.UsageDay {
			t.Helper()
			days, err := s.App.Store.TokenUsage(ctx, tok.ID(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			return days
		}
		record(map[string]int64{dayAgo(800): 4, dayAgo(366): 3, dayAgo(365): 2, dayAgo(100): 1})
		if got := usage(); len(got) != 2 || got[dayAgo(365)] != 2 || got[dayAgo(100)] != 1 {
			t.Fatalf("usage over 366 days before the cleanup = %v; want %s: 2 and %s: 1", got, dayAgo(365), dayAgo(100))
		}

		// The first scheduled run since the start deletes the two days
		// the API can no longer show.
		if !s.App.RunJobs(ctx) {
			t.Fatal("the jobs did not run")
		}
		if got := stored(); len(got) != 2 || got[0].Day != dayAgo(365) || got[1].Day != dayAgo(100) {
			t.Fatalf("stored usage after the scheduled cleanup = %v; want only %s and %s", got, dayAgo(365), dayAgo(100))
		}
		// Within the day, the scheduled run leaves old days alone...
		record(map[string]int64{dayAgo(500): 5})
		s.App.RunJobs(ctx)
		if got := stored(); len(got) != 3 {
			t.Fatalf("stored usage after a second scheduled cleanup within the day = %v; want the day 500 days ago kept until the next day's", got)
		}
		// ...and a run on demand deletes them, and says how many.
		var run struct {
			Result map[string]any `json:"result"`
		}
		s.JSON(t, http.MethodPost, "/api/v1/jobs/cleanup/run", admin, nil, http.StatusOK, &run)
		if run.Result["deleted_usage_days"] != float64(1) {
			t.Errorf("cleanup on demand deleted %v usage days; want 1", run.Result["deleted_usage_days"])
		}
		if got := usage(); len(got) != 2 || got[dayAgo(365)] != 2 || got[dayAgo(100)] != 1 {
			t.Errorf("usage over 366 days after the cleanup = %v; want it unchanged", got)
		}
		got, err := s.App.Store.GetToken(ctx, tok.ID())
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || got.LastUsedIP != "192.0.2.1" {
			t.Errorf("the token's last use after the cleanup = %v from %q; want it kept", got.LastUsedAt, got.LastUsedIP)
		}
	})
}

// TestCleanupDeletesFederationTokensAMonthAfterTheyExpired: each CI run
// that exchanges an OIDC token leaves a short-lived federation token; the
// cleanup job deletes those that expired over 30 days ago, so the tokens
// table does not grow by a row per run for ever. A more recently expired
// one stays, and so does every other kind of token.
func TestCleanupDeletesFederationTokensAMonthAfterTheyExpired(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		ctx := context.Background()
		owner, err := s.App.Store.GetUserByUsername(ctx, servertest.AdminUser)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		made := func(name string, kind store.TokenKind, expires time.Time) string {
			t.Helper()
			tk := &store.Token{ID: uuid.Must(uuid.NewV7()).String(), UserID: owner.ID, Kind: kind, Name: name, Scopes: []string{"repo:read"},
				Digest: []byte(fmt.Sprintf("%-32s", name))[:32], Hint: "abcd", CreatedAt: expires.Add(-15 * time.Minute),
				UpdatedAt: expires.Add(-15 * time.Minute), ExpiresAt: &expires}
			if kind == store.TokenFederated {
				tk.FederationPolicyID = "p1"
			}
			if err := s.App.Store.CreateToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
			return tk.ID
		}
		old := made("fed:ci:old", store.TokenFederated, now.Add(-31*24*time.Hour))
		recent := made("fed:ci:recent", store.TokenFederated, now.Add(-29*24*time.Hour))
		pat := made("pat-old", store.TokenPersonal, now.Add(-400*24*time.Hour))
		var run struct {
			Result map[string]any `json:"result"`
		}
		s.JSON(t, http.MethodPost, "/api/v1/jobs/cleanup/run", admin, nil, http.StatusOK, &run)
		if run.Result["deleted_federation_tokens"] != float64(1) {
			t.Errorf("cleanup deleted %v federation tokens; want 1", run.Result["deleted_federation_tokens"])
		}
		s.JSON(t, http.MethodGet, "/api/v1/tokens/"+old, admin, nil, http.StatusNotFound, nil)
		for _, id := range []string{recent, pat} {
			s.JSON(t, http.MethodGet, "/api/v1/tokens/"+id, admin, nil, http.StatusOK, nil)
		}
	})
}
