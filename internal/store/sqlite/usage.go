package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// recordUseChunk bounds the uses one set of statements carries.
const recordUseChunk = 1_000

// RecordTokenUse applies a batch of aggregated uses in one transaction: per
// use, last_used_at becomes the later of the stored time and u.At (with IP
// and agent only when u.At is later), u's IPs are merged into recent_ips,
// u.Counts are added to the token's day counts (lastUse.addDay), and an
// audit event is appended for each of u.NewAddresses the token was not
// used from before (see store.TokenUse). Uses of unknown tokens are
// skipped.
//
// The work is set-based: per chunk of uses, one SELECT reads the tokens'
// last use, one INSERT ... SELECT upserts them into token_last_use (a
// narrow table: a use never rewrites a tokens row, and the row also counts
// the token's latest day) and one more upserts the counts of earlier days
// (none, when every use is of the day a token's row counts), whatever the
// number of tokens, so a flush of many first uses costs a few statements,
// not three per token.
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
		for start := 0; start < len(uses); start += recordUseChunk {
			if err := recordUsesOf(ctx, tx, uses[start:min(start+recordUseChunk, len(uses))], nil); err != nil {
				return fmt.Errorf("record token use: %w", err)
			}
		}
		return nil
	})
}

// lastUse is a token's stored last use, as RecordTokenUse merges it.
type lastUse struct {
	at           sql.NullInt64
	ip, agent    string
	name, userID string
	recent       []string
	// day is the latest day the token was used on ("" = none counted
	// yet), and dayCount its requests on it so far.
	day      string
	dayCount int64
	queued   bool // in the list of tokens to write
}

// addDay adds n requests of day to st's counts: to the day it counts
// when it is that day; to a later day, which it counts from then on, when
// it is later (the day counted so far is appended to counts, for
// token_usage); otherwise to counts.
func (st *lastUse) addDay(id, day string, n int64, counts []countArg) []countArg {
	switch {
	case day == st.day:
		st.dayCount += n
	case day > st.day:
		if st.day != "" && st.dayCount != 0 {
			counts = append(counts, countArg{ID: id, Day: st.day, N: st.dayCount})
		}
		st.day, st.dayCount = day, n
	default:
		counts = append(counts, countArg{ID: id, Day: day, N: n})
	}
	return counts
}

// recordUsesOf applies uses in tx, as RecordTokenUse. rids, when the
// caller knows them (the fold), are the rowids of the uses' tokens, in the
// same order: the tokens are then read by rowid, in the order their pages
// lie in the file, rather than found by id first.
func recordUsesOf(ctx context.Context, tx *sql.Tx, uses []store.TokenUse, rids []int64) error {
	// Every statement walks its B-tree in key order: the keys sorted for
	// the lookups, the last uses written in token id order, the day counts
	// in (token, day) order. Uses spread over a large table then touch each
	// page once, in file order, instead of in request order, where a page
	// can be spilled from the writer's cache and written to the WAL again
	// by a later use in the same transaction.
	const readLastUse = `SELECT t.id, l.last_used_at, coalesce(l.last_used_ip, ''), coalesce(l.last_used_agent, ''),
		coalesce(l.recent_ips, '[]'), coalesce(l.day, ''), coalesce(l.day_count, 0), t.name, t.user_id
		FROM tokens AS t LEFT JOIN token_last_use AS l ON l.token_id = t.id `
	var (
		rows *sql.Rows
		err  error
		// text is the JSON of each statement's parameter in turn (see
		// usage_json.go), passed as a string: a []byte is bound as a
		// BLOB, which jsonb_each would read as binary JSON.
		text []byte
	)
	if rids != nil {
		keys := slices.Compact(slices.Sorted(slices.Values(rids)))
		text = appendJSONInts(text, keys)
		rows, err = tx.QueryContext(ctx, readLastUse+`WHERE t.rowid IN (SELECT value FROM json_each(?))`, string(text))
	} else {
		ids := make([]string, 0, len(uses))
		for _, u := range uses {
			ids = append(ids, u.TokenID)
		}
		slices.Sort(ids)
		text = appendJSONStrings(text, ids)
		rows, err = tx.QueryContext(ctx, readLastUse+`WHERE t.id IN (SELECT value FROM json_each(?))`, string(text))
	}
	if err != nil {
		return err
	}
	state := make(map[string]*lastUse, len(uses))
	for rows.Next() {
		var (
			id, recent string
			st         lastUse
		)
		if err := rows.Scan(&id, &st.at, &st.ip, &st.agent, &recent, &st.day, &st.dayCount, &st.name, &st.userID); err != nil {
			rows.Close()
			return err
		}
		if st.recent, err = decodeList(recent); err != nil {
			rows.Close()
			return fmt.Errorf("token %s recent ips: %w", id, err)
		}
		state[id] = &st
	}
	if err := rows.Err(); err != nil {
		return err
	}
	order := make([]string, 0, len(state)) // tokens to write, in batch order
	var (
		counts []countArg
		events []*store.AuditEvent
	)
	for _, u := range uses {
		st, ok := state[u.TokenID]
		if !ok {
			continue // deleted since it was used
		}
		if !st.queued {
			st.queued = true
			order = append(order, u.TokenID)
		}
		for _, a := range store.NewAddresses(st.at.Valid, st.recent, u) {
			events = append(events, store.NewAddressEvent(u.TokenID, st.name, st.userID, a))
		}
		at := micros(u.At)
		newer := !st.at.Valid || at > st.at.Int64
		st.recent = store.MergeRecentIPs(st.recent, u, newer)
		if newer {
			st.at = sql.NullInt64{Int64: at, Valid: true}
			st.ip, st.agent = u.IP, u.Agent
		}
		for day, n := range u.Counts {
			counts = st.addDay(u.TokenID, day, n, counts)
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
	slices.Sort(order)
	set := make([]lastUseArg, 0, len(order))
	for _, id := range order {
		st := state[id]
		set = append(set, lastUseArg{ID: id, At: st.at.Int64, IP: st.ip, Agent: st.agent, Recent: encodeList(st.recent),
			Day: st.day, DayCount: st.dayCount})
	}
	text = appendLastUseArgs(text[:0], set)
	if _, err := tx.ExecContext(ctx, `INSERT INTO token_last_use (token_id, last_used_at, last_used_ip, last_used_agent, recent_ips,
			day, day_count)
		SELECT json_extract(value, '$.i'), json_extract(value, '$.t'), json_extract(value, '$.p'),
			json_extract(value, '$.a'), json_extract(value, '$.r'), json_extract(value, '$.d'), json_extract(value, '$.n')
		FROM jsonb_each(?) WHERE true
		ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at, last_used_ip = excluded.last_used_ip,
			last_used_agent = excluded.last_used_agent, recent_ips = excluded.recent_ips,
			day = excluded.day, day_count = excluded.day_count`, string(text)); err != nil {
		return fmt.Errorf("last use: %w", translate(err))
	}
	if len(counts) == 0 {
		return nil
	}
	slices.SortFunc(counts, func(a, b countArg) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Day, b.Day))
	})
	text = appendCountArgs(text[:0], counts)
	if _, err := tx.ExecContext(ctx, `INSERT INTO token_usage (token_id, day, count)
		SELECT json_extract(value, '$.i'), json_extract(value, '$.d'), json_extract(value, '$.n')
		FROM jsonb_each(?) WHERE true
		ON CONFLICT (token_id, day) DO UPDATE SET count = count + excluded.count`, string(text)); err != nil {
		return fmt.Errorf("count: %w", translate(err))
	}
	return nil
}

// The rows recordUsesOf writes, as JSON objects for jsonb_each, encoded by
// appendLastUseArgs and appendCountArgs as json.Marshal would encode them
// (usage_json.go). jsonb_each, not json_each, hands each object to
// json_extract as SQLite's binary JSON; json_each hands it over as text,
// which every json_extract parsed again (SQLite's JSON work was a third of
// the fold's writes).
type (
	lastUseArg struct {
		ID       string `json:"i"`
		At       int64  `json:"t"` // Unix microseconds
		IP       string `json:"p"`
		Agent    string `json:"a"`
		Recent   string `json:"r"` // the recent addresses, JSON text (encodeList)
		Day      string `json:"d"`
		DayCount int64  `json:"n"`
	}
	countArg struct {
		ID  string `json:"i"`
		Day string `json:"d"`
		N   int64  `json:"n"`
	}
)

// jsonText encodes v as a JSON text parameter for json_each or jsonb_each,
// for callers off the usage pipeline's hot path (usage_json.go).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for strings and numbers
		panic(err)
	}
	return string(b)
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
// UTC date of since, oldest first: token_usage's, and the day its last
// use counts (see lastUse.addDay).
func (s *Store) TokenUsage(ctx context.Context, tokenID string, since time.Time) ([]store.UsageDay, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT day, sum(count) FROM (
			SELECT day, count FROM token_usage WHERE token_id = ?1 AND day >= ?2
			UNION ALL
			SELECT day, day_count FROM token_last_use WHERE token_id = ?1 AND day >= ?2 AND day_count <> 0
		) GROUP BY day ORDER BY day`,
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

// usagePruneChunk is how many tokens one transaction of
// DeleteTokenUsageBefore goes through (a variable so that the package's
// tests can make chunks of a few tokens).
var usagePruneChunk = 1_000

// The statements of DeleteTokenUsageBefore: the chunk's last token (NULL
// when no token is left), from the tokens' primary key, then the chunk's
// old days, each token's searched by token_usage's (token_id, day), so a
// chunk reads only the rows it deletes.
const (
	pruneUsageBoundSQL = `SELECT max(id) FROM (SELECT id FROM tokens WHERE id > ? ORDER BY id LIMIT ?)`
	pruneUsageSQL      = `DELETE FROM token_usage WHERE token_id IN (SELECT id FROM tokens WHERE id > ?1 AND id <= ?2) AND day < ?3`
)

// DeleteTokenUsageBefore deletes the per-day counts of UTC days before the
// UTC date of before, usagePruneChunk tokens per write transaction. The
// day a token's last use counts (token_last_use) is one row per token and
// stays.
func (s *Store) DeleteTokenUsageBefore(ctx context.Context, before time.Time) (int, error) {
	cutoff := before.UTC().Format(time.DateOnly)
	total, after := 0, ""
	for {
		var last sql.NullString
		if err := s.r.QueryRowContext(ctx, pruneUsageBoundSQL, after, usagePruneChunk).Scan(&last); err != nil {
			return total, fmt.Errorf("delete old token usage: %w", translate(err))
		}
		if !last.Valid {
			return total, nil
		}
		res, err := s.execAuto(ctx, pruneUsageSQL, after, last.String, cutoff)
		if err != nil {
			return total, fmt.Errorf("delete old token usage: %w", translate(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("delete old token usage: %w", err)
		}
		total += int(n)
		after = last.String
	}
}
