package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

// tokenUseState is what RecordTokenUse reads of a token before merging.
type tokenUseState struct {
	lastUsed     *time.Time
	ip, agent    string
	name, userID string
	recent       []string
	queued       bool // in the list of tokens to write
}

// recordUseChunk bounds the uses one set of statements carries.
const recordUseChunk = 1_000

// RecordTokenUse applies a batch of aggregated uses in one transaction: per
// use, last_used_at becomes the later of the stored time and u.At (with IP
// and agent only when u.At is later), u's IPs are merged into recent_ips,
// u.Counts are added to token_usage, and an audit event is appended for
// each of u.NewAddresses the token was not used from before (see
// store.TokenUse). Uses of unknown tokens are skipped.
//
// The work is set-based: per chunk, one SELECT ... FOR UPDATE (rows locked
// in ID order, so concurrent flushes from several replicas serialise
// instead of deadlocking), one UPDATE ... FROM jsonb_to_recordset and one
// INSERT ... SELECT for the day counts, whatever the number of tokens.
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
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for start := 0; start < len(uses); start += recordUseChunk {
			if err := recordUses(ctx, tx, uses[start:min(start+recordUseChunk, len(uses))]); err != nil {
				// Translated, so the flusher can tell a database that
				// refuses writes (a standby) or went away from a bug.
				return fmt.Errorf("record token use: %w", translate(err))
			}
		}
		return nil
	})
}

// usedRow and countRow are the JSON rows of the set-based statements.
type usedRow struct {
	ID     string     `json:"id"`
	At     *time.Time `json:"at"`
	IP     string     `json:"ip"`
	Agent  string     `json:"agent"`
	Recent []string   `json:"recent"`
}

type countRow struct {
	ID  string `json:"id"`
	Day string `json:"day"`
	N   int64  `json:"n"`
}

func recordUses(ctx context.Context, tx pgx.Tx, uses []store.TokenUse) error {
	ids := make([]string, 0, len(uses))
	for _, u := range uses {
		ids = append(ids, u.TokenID)
	}
	rows, err := tx.Query(ctx, `SELECT id, last_used_at, last_used_ip, last_used_agent, recent_ips, name, user_id
		FROM tokens WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return err
	}
	state := make(map[string]*tokenUseState, len(uses))
	for rows.Next() {
		var (
			id string
			st tokenUseState
		)
		if err := rows.Scan(&id, &st.lastUsed, &st.ip, &st.agent, &st.recent, &st.name, &st.userID); err != nil {
			rows.Close()
			return err
		}
		state[id] = &st
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var (
		set    []usedRow
		counts []countRow
		events []*store.AuditEvent
	)
	order := make([]string, 0, len(state))
	for _, u := range uses {
		st, ok := state[u.TokenID]
		if !ok {
			continue // deleted since it was used
		}
		if !st.queued {
			st.queued = true
			order = append(order, u.TokenID)
		}
		for _, a := range store.NewAddresses(st.lastUsed != nil, st.recent, u) {
			events = append(events, store.NewAddressEvent(u.TokenID, st.name, st.userID, a))
		}
		at := ts(u.At)
		newer := st.lastUsed == nil || at.After(*st.lastUsed)
		st.recent = store.MergeRecentIPs(st.recent, u, newer)
		if newer {
			st.lastUsed, st.ip, st.agent = &at, u.IP, u.Agent
		}
		for day, n := range u.Counts {
			counts = append(counts, countRow{ID: u.TokenID, Day: day, N: n})
		}
	}
	for _, e := range events {
		if err := appendAudit(ctx, tx, e); err != nil {
			return err
		}
	}
	if len(order) == 0 {
		return nil
	}
	for _, id := range order {
		st := state[id]
		set = append(set, usedRow{ID: id, At: st.lastUsed, IP: st.ip, Agent: st.agent, Recent: list(st.recent)})
	}
	setJSON, err := json.Marshal(set)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE tokens SET last_used_at = u.at, last_used_ip = u.ip,
		last_used_agent = u.agent, recent_ips = u.recent
		FROM jsonb_to_recordset($1::jsonb) AS u(id text, at timestamptz, ip text, agent text, recent text[])
		WHERE tokens.id = u.id`, string(setJSON)); err != nil {
		return translate(err)
	}
	if len(counts) == 0 {
		return nil
	}
	countJSON, err := json.Marshal(counts)
	if err != nil {
		return err
	}
	// Summed per (token, day) first: one upsert may not touch a row twice.
	if _, err := tx.Exec(ctx, `INSERT INTO token_usage (token_id, day, count)
		SELECT c.id, c.day::date, sum(c.n) FROM jsonb_to_recordset($1::jsonb) AS c(id text, day text, n bigint)
		GROUP BY c.id, c.day::date
		ON CONFLICT (token_id, day) DO UPDATE SET count = token_usage.count + excluded.count`, string(countJSON)); err != nil {
		return fmt.Errorf("count: %w", translate(err))
	}
	return nil
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
	rows, err := s.db(ctx).Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), count FROM token_usage
		WHERE token_id = $1 AND day >= $2::date ORDER BY day`, tokenID, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("token usage: %w", translate(err))
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
		return nil, fmt.Errorf("token usage: %w", translate(err))
	}
	return out, nil
}

// usagePruneChunk is how many tokens one transaction of
// DeleteTokenUsageBefore goes through (a variable so that the package's
// tests can make chunks of a few tokens).
var usagePruneChunk = 1_000

// The statements of DeleteTokenUsageBefore: the chunk's last token (NULL
// when no token is left), from the tokens' primary key, then the chunk's
// old days, each token's found by token_usage's primary key (token_id,
// day).
const (
	pruneUsageBoundSQL = `SELECT max(id) FROM (SELECT id FROM tokens WHERE id > $1 ORDER BY id LIMIT $2) AS chunk`
	pruneUsageSQL      = `DELETE FROM token_usage WHERE token_id IN (SELECT id FROM tokens WHERE id > $1 AND id <= $2) AND day < $3::date`
)

// DeleteTokenUsageBefore deletes the per-day counts of UTC days before the
// UTC date of before, usagePruneChunk tokens per statement, so that no
// statement holds its row locks for long.
func (s *Store) DeleteTokenUsageBefore(ctx context.Context, before time.Time) (int, error) {
	cutoff := before.UTC().Format(time.DateOnly)
	total, after := 0, ""
	for {
		var last *string
		if err := s.db(ctx).QueryRow(ctx, pruneUsageBoundSQL, after, usagePruneChunk).Scan(&last); err != nil {
			return total, fmt.Errorf("delete old token usage: %w", translate(err))
		}
		if last == nil {
			return total, nil
		}
		tag, err := s.db(ctx).Exec(ctx, pruneUsageSQL, after, *last, cutoff)
		if err != nil {
			return total, fmt.Errorf("delete old token usage: %w", translate(err))
		}
		total += int(tag.RowsAffected())
		after = *last
	}
}
