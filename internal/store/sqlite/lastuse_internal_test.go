package sqlite

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/latchkey/latchkey/internal/store"
)

// TestLastUseMovesToItsOwnTableOnUpgrade upgrades a database of version 7,
// whose tokens rows held their last use, and checks that every token keeps
// it, read from token_last_use, and that the tokens table lost the columns.
func TestLastUseMovesToItsOwnTableOnUpgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	if err := withProvider(ctx, path, func(p *goose.Provider) error {
		_, err := p.UpTo(ctx, 7)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	used := time.Date(2026, 11, 30, 12, 0, 0, 123456000, time.UTC)
	for _, q := range []string{
		`INSERT INTO users (id, username, role, kind, login_type, created_at, updated_at) VALUES ('u1', 'ann', 'member', 'person', 'password', 1, 1)`,
		`INSERT INTO tokens (id, user_id, kind, name, digest, created_at, updated_at, last_used_at, last_used_ip, last_used_agent, recent_ips)
			VALUES ('t1', 'u1', 'personal', 'used', x'01', 1, 1, ` + itoa(used.UnixMicro()) + `, '10.0.0.2', 'curl/8', '["10.0.0.2","10.0.0.1"]')`,
		`INSERT INTO tokens (id, user_id, kind, name, digest, created_at, updated_at) VALUES ('t2', 'u1', 'personal', 'never', x'02', 1, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetToken(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.LastUsedIP != "10.0.0.2" || got.LastUsedAgent != "curl/8" ||
		!slices.Equal(got.RecentIPs, []string{"10.0.0.2", "10.0.0.1"}) {
		t.Errorf("used token after the upgrade: last use %v %q %q %v, want %v 10.0.0.2 curl/8 [10.0.0.2 10.0.0.1]",
			got.LastUsedAt, got.LastUsedIP, got.LastUsedAgent, got.RecentIPs, used)
	}
	never, err := s.GetToken(ctx, "t2")
	if err != nil {
		t.Fatal(err)
	}
	if hasLastUse(never) || never.RecentIPs == nil {
		t.Errorf("never-used token after the upgrade: %v %q %q %#v, want no last use and an empty list",
			never.LastUsedAt, never.LastUsedIP, never.LastUsedAgent, never.RecentIPs)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('tokens')
		WHERE name IN ('last_used_at', 'last_used_ip', 'last_used_agent', 'recent_ips')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("tokens still has %d last-use columns", n)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM token_last_use`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("token_last_use has %d rows, want 1 (the never-used token has none)", n)
	}
}

// TestLastUseFollowsItsToken: a use is stored apart from the token row and
// read back with it; updating other fields keeps it; UpdateToken can set
// and clear it; and it goes when its token row does.
func TestLastUseFollowsItsToken(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, options{})
	u := testUser(t, s)
	tk := testToken(u.ID, "ci")
	if err := s.CreateToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: tk.ID, At: at, IP: "10.1.1.1", Agent: "git/2",
		IPs: []string{"10.1.1.1"}, Counts: map[string]int64{at.Format(time.DateOnly): 1}}}); err != nil {
		t.Fatal(err)
	}
	before, err := s.GetToken(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before.LastUsedAt == nil || !before.LastUsedAt.Equal(at) || before.LastUsedIP != "10.1.1.1" || before.LastUsedAgent != "git/2" {
		t.Fatalf("after a use: %v %q %q", before.LastUsedAt, before.LastUsedIP, before.LastUsedAgent)
	}
	var updated int64
	if err := s.r.QueryRowContext(ctx, `SELECT updated_at FROM tokens WHERE id = ?`, tk.ID).Scan(&updated); err != nil {
		t.Fatal(err)
	}
	if updated != micros(tk.UpdatedAt) {
		t.Errorf("a use changed the token's updated_at")
	}

	got, err := s.UpdateToken(ctx, tk.ID, func(t *store.Token) error { t.Description = "deploys"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "deploys" || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) || !slices.Equal(got.RecentIPs, before.RecentIPs) {
		t.Errorf("UpdateToken of the description: %q, last use %v %v", got.Description, got.LastUsedAt, got.RecentIPs)
	}
	// A change made in place, to the time the token was read with, is written.
	later := at.Add(time.Hour)
	if _, err = s.UpdateToken(ctx, tk.ID, func(t *store.Token) error { *t.LastUsedAt = later; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetToken(ctx, tk.ID); err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) {
		t.Errorf("last use changed in place by UpdateToken read back as %v (%v), want %v", got.LastUsedAt, err, later)
	}
	got, err = s.UpdateToken(ctx, tk.ID, func(t *store.Token) error {
		t.LastUsedAt, t.LastUsedIP, t.LastUsedAgent, t.RecentIPs = nil, "", "", nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if hasLastUse(got) {
		t.Errorf("UpdateToken clearing the last use returned %v %q %v", got.LastUsedAt, got.LastUsedIP, got.RecentIPs)
	}
	if got, err = s.GetToken(ctx, tk.ID); err != nil || hasLastUse(got) {
		t.Errorf("cleared last use read back as %v %q %v (%v)", got.LastUsedAt, got.LastUsedIP, got.RecentIPs, err)
	}

	if err := s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: tk.ID, At: at, IP: "10.1.1.2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.execAuto(ctx, `DELETE FROM token_usage WHERE token_id = ?`, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.execAuto(ctx, `DELETE FROM tokens WHERE id = ?`, tk.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM token_last_use WHERE token_id = ?`, tk.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a deleted token's last use is still stored")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestClearingALastUseKeepsTheDaysCount: the row of a token's last use
// also counts its latest day's requests, so a last use cleared by
// UpdateToken must leave that count, and a token never used again still
// shows it.
func TestClearingALastUseKeepsTheDaysCount(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := testUser(t, s)
	tk := testToken(u.ID, "ci")
	if err := s.CreateToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)
	if err := s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: tk.ID, At: at, IP: "10.1.1.1", IPs: []string{"10.1.1.1"},
		Counts: map[string]int64{"2031-03-03": 2, "2031-03-04": 3}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateToken(ctx, tk.ID, func(t *store.Token) error {
		t.LastUsedAt, t.LastUsedIP, t.LastUsedAgent, t.RecentIPs = nil, "", "", nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetToken(ctx, tk.ID)
	if err != nil || hasLastUse(got) {
		t.Fatalf("cleared last use read back as %v %q %v (%v)", got.LastUsedAt, got.LastUsedIP, got.RecentIPs, err)
	}
	days, err := s.TokenUsage(ctx, tk.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UsageDay{{Day: "2031-03-03", Count: 2}, {Day: "2031-03-04", Count: 3}}
	if !slices.Equal(days, want) {
		t.Errorf("day counts after the last use was cleared: %v, want %v", days, want)
	}
}
