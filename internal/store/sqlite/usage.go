package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// RecordTokenUse applies a batch of aggregated uses in one transaction: per
// use, last_used_at becomes the later of the stored time and u.At (with IP
// and agent only when u.At is later), u's IPs are merged into recent_ips,
// and u.Counts are added to token_usage. Uses of unknown tokens are skipped.
func (s *Store) RecordTokenUse(ctx context.Context, uses []store.TokenUse) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("record token use: %w", err)
	}
	if len(uses) == 0 {
		return nil
	}
	for _, u := range uses {
		if err := validDays(u.Counts); err != nil {
			return fmt.Errorf("record token use: token %s: %w", u.TokenID, err)
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		sel, err := tx.PrepareContext(ctx, `SELECT last_used_at, recent_ips FROM tokens WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("record token use: %w", err)
		}
		defer sel.Close()
		upd, err := tx.PrepareContext(ctx, `UPDATE tokens SET last_used_at = ?, last_used_ip = ?, last_used_agent = ?, recent_ips = ? WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("record token use: %w", err)
		}
		defer upd.Close()
		ips, err := tx.PrepareContext(ctx, `UPDATE tokens SET recent_ips = ? WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("record token use: %w", err)
		}
		defer ips.Close()
		cnt, err := tx.PrepareContext(ctx, `INSERT INTO token_usage (token_id, day, count) VALUES (?, ?, ?)
			ON CONFLICT (token_id, day) DO UPDATE SET count = count + excluded.count`)
		if err != nil {
			return fmt.Errorf("record token use: %w", err)
		}
		defer cnt.Close()
		for _, u := range uses {
			var (
				last   sql.NullInt64
				recent string
			)
			err := sel.QueryRowContext(ctx, u.TokenID).Scan(&last, &recent)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("record token use: %w", err)
			}
			stored, err := decodeList(recent)
			if err != nil {
				return fmt.Errorf("record token use: token %s recent ips: %w", u.TokenID, err)
			}
			at := micros(u.At)
			newer := !last.Valid || at > last.Int64
			merged := encodeList(store.MergeRecentIPs(stored, u, newer))
			if newer {
				_, err = upd.ExecContext(ctx, at, u.IP, u.Agent, merged, u.TokenID)
			} else {
				_, err = ips.ExecContext(ctx, merged, u.TokenID)
			}
			if err != nil {
				return fmt.Errorf("record token use: %w", translate(err))
			}
			for day, n := range u.Counts {
				if _, err := cnt.ExecContext(ctx, u.TokenID, day, n); err != nil {
					return fmt.Errorf("record token use: count: %w", translate(err))
				}
			}
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
	rows, err := s.r.QueryContext(ctx, `SELECT day, count FROM token_usage WHERE token_id = ? AND day >= ? ORDER BY day`,
		tokenID, since.UTC().Format(time.DateOnly))
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
