package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

// tokenUseState is what RecordTokenUse reads of a token before merging.
type tokenUseState struct {
	lastUsed *time.Time
	recent   []string
}

// RecordTokenUse applies a batch of aggregated uses in one transaction: per
// use, last_used_at becomes the later of the stored time and u.At (with IP
// and agent only when u.At is later), u's IPs are merged into recent_ips,
// and u.Counts are added to token_usage. Uses of unknown tokens are skipped.
// The batch's token rows are locked in ID order, so concurrent flushes from
// several replicas serialise instead of deadlocking.
func (s *Store) RecordTokenUse(ctx context.Context, uses []store.TokenUse) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("record token use: %w", err)
	}
	if len(uses) == 0 {
		return nil
	}
	ids := make([]string, 0, len(uses))
	for _, u := range uses {
		if err := validDays(u.Counts); err != nil {
			return fmt.Errorf("record token use: token %s: %w", u.TokenID, err)
		}
		ids = append(ids, u.TokenID)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, last_used_at, recent_ips FROM tokens WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
		if err != nil {
			return fmt.Errorf("record token use: %w", err)
		}
		state := map[string]*tokenUseState{}
		for rows.Next() {
			var (
				id string
				st tokenUseState
			)
			if err := rows.Scan(&id, &st.lastUsed, &st.recent); err != nil {
				rows.Close()
				return fmt.Errorf("record token use: %w", err)
			}
			state[id] = &st
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("record token use: %w", err)
		}
		var b pgx.Batch
		for _, u := range uses {
			st, ok := state[u.TokenID]
			if !ok {
				continue // deleted since it was used
			}
			at := ts(u.At)
			newer := st.lastUsed == nil || at.After(*st.lastUsed)
			st.recent = store.MergeRecentIPs(st.recent, u, newer)
			if newer {
				st.lastUsed = &at
				b.Queue(`UPDATE tokens SET last_used_at = $1, last_used_ip = $2, last_used_agent = $3, recent_ips = $4 WHERE id = $5`,
					at, u.IP, u.Agent, st.recent, u.TokenID)
			} else {
				b.Queue(`UPDATE tokens SET recent_ips = $1 WHERE id = $2`, st.recent, u.TokenID)
			}
			for day, n := range u.Counts {
				b.Queue(`INSERT INTO token_usage (token_id, day, count) VALUES ($1, $2::date, $3)
					ON CONFLICT (token_id, day) DO UPDATE SET count = token_usage.count + excluded.count`,
					u.TokenID, day, n)
			}
		}
		if b.Len() == 0 {
			return nil
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("record token use: %w", translate(err))
		}
		return nil
	})
}

// validDays checks that every key of counts is a "2006-01-02" date.
func validDays(counts map[string]int64) error {
	for day := range counts {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			return fmt.Errorf("usage day %q is not YYYY-MM-DD: %w", day, err)
		}
	}
	return nil
}

// TokenUsage returns the token's per-day counts for days on or after the
// UTC date of since, oldest first.
func (s *Store) TokenUsage(ctx context.Context, tokenID string, since time.Time) ([]store.UsageDay, error) {
	rows, err := s.pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), count FROM token_usage
		WHERE token_id = $1 AND day >= $2::date ORDER BY day`, tokenID, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("token usage: %w", err)
	}
	defer rows.Close()
	out := []store.UsageDay{}
	for rows.Next() {
		var d store.UsageDay
		if err := rows.Scan(&d.Day, &d.Count); err != nil {
			return nil, fmt.Errorf("token usage: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("token usage: %w", err)
	}
	return out, nil
}
