package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

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
