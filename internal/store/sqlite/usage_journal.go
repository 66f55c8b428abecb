package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/store"
)

// The usage journal. When every request is a token's first use (a large
// platform with many tokens, each used now and then), RecordTokenUse
// rewrites about one page of tokens and one of token_usage per use, spread
// over the whole file: with 1M tokens, each flush rewrites tens of
// thousands of pages, each written to the WAL and again by a checkpoint.
// JournalTokenUse instead appends the batch to token_use_journal, whose
// pages fill one after the other; FoldTokenUse later applies everything
// journaled in the tokens' row order, so that each page of tokens and
// token_usage is rewritten once per fold however many of its tokens were
// used. The caller (auth.Usage) journals large batches and folds every
// minute, or sooner when the journal grows; until a fold, a token's stored
// last use lags behind by at most that long, as a busy token's already
// does between its writes.

// journalChunk bounds the uses one appending statement carries.
const journalChunk = 5_000

// foldChunk is how many tokens one fold transaction applies: small enough
// that writers waiting for the write connection (token creation) wait
// little, large enough that a transaction's fsync is shared widely.
const foldChunk = 2_000

// journalUse is a store.TokenUse as token_use_journal keeps it.
type journalUse struct {
	At     *int64           `json:"t,omitempty"` // Unix microseconds; nil: zero time
	IP     string           `json:"i,omitempty"`
	Agent  string           `json:"a,omitempty"`
	IPs    []string         `json:"r,omitempty"`
	Counts map[string]int64 `json:"c,omitempty"`
	New    []journalAddress `json:"n,omitempty"`
}

type journalAddress struct {
	IP    string `json:"i"`
	Agent string `json:"a,omitempty"`
	At    int64  `json:"t"` // Unix microseconds
}

func toJournal(u store.TokenUse) journalUse {
	j := journalUse{IP: u.IP, Agent: u.Agent, IPs: u.IPs, Counts: u.Counts}
	if !u.At.IsZero() {
		at := micros(u.At)
		j.At = &at
	}
	for _, a := range u.NewAddresses {
		j.New = append(j.New, journalAddress{IP: a.IP, Agent: a.Agent, At: micros(a.At)})
	}
	return j
}

func (j journalUse) use(tokenID string) store.TokenUse {
	u := store.TokenUse{TokenID: tokenID, IP: j.IP, Agent: j.Agent, IPs: j.IPs, Counts: j.Counts}
	if j.At != nil {
		u.At = fromMicros(*j.At)
	}
	if u.Counts == nil {
		u.Counts = map[string]int64{}
	}
	for _, a := range j.New {
		u.NewAddresses = append(u.NewAddresses, store.AddressUse{IP: a.IP, Agent: a.Agent, At: fromMicros(a.At)})
	}
	return u
}

// JournalTokenUse appends a batch of aggregated uses to the usage journal
// in one transaction, for FoldTokenUse to apply; it writes a few
// sequential pages whatever the number of tokens. Malformed days are
// refused, as by RecordTokenUse, before anything is written.
func (s *Store) JournalTokenUse(ctx context.Context, uses []store.TokenUse) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal token use: %w", err)
	}
	if len(uses) == 0 {
		return nil
	}
	rows := make([][2]any, 0, len(uses))
	for _, u := range uses {
		if err := validDays(u.Counts); err != nil {
			return fmt.Errorf("journal token use: token %s: %w", u.TokenID, err)
		}
		rows = append(rows, [2]any{u.TokenID, toJournal(u)})
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(rows); start += journalChunk {
			if _, err := tx.ExecContext(ctx, `INSERT INTO token_use_journal (token_id, use)
				SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)`,
				jsonText(rows[start:min(start+journalChunk, len(rows))])); err != nil {
				return translate(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal token use: %w", err)
	}
	return nil
}

// foldFailAfter, when set by a test, fails a fold after that many applied
// chunks, as a crash would stop it.
var foldFailAfter func(chunks int) error

// FoldTokenUse applies everything journaled so far to tokens and
// token_usage, as RecordTokenUse would have (latest use, recent addresses,
// day counts, audit events of new addresses), and empties the journal. It
// returns how many journaled uses it applied.
//
// Uses are ordered in one pass by the tokens' rowid and applied in
// transactions of foldChunk tokens, in that order, so each page is written
// once; no read stays open across those commits (foldOrderSQL). Each
// transaction also records the last rowid it applied in usage_fold: a fold
// interrupted by an error or a crash resumes after it, so nothing is lost
// or counted twice. Uses appended while a fold runs wait
// for the next one. Uses of deleted tokens are dropped.
func (s *Store) FoldTokenUse(ctx context.Context) (int, error) {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	n, err := s.fold(ctx)
	if err != nil {
		return n, fmt.Errorf("fold token use: %w", err)
	}
	return n, nil
}

// foldOrderSQL lists the journaled uses of a fold in the tokens' row order:
// one pass over the journal, each token found by its id, then one sort.
// Only the row and the journal's seq are kept (16 bytes a use), and the
// rows are read to the end before anything is written: a read left open
// across the fold's commits would keep its snapshot, and with it every
// page the fold writes in the WAL, which could then not start over (it
// grew to 170-270 MB folding 300,000 uses of 1M tokens).
const foldOrderSQL = `SELECT t.rowid, j.seq
	FROM token_use_journal AS j CROSS JOIN tokens AS t ON t.id = j.token_id
	WHERE j.seq <= ? AND t.rowid > ? ORDER BY t.rowid, j.seq`

// foldUsesSQL reads the uses of one chunk by their journal seq (its
// primary key), in a short read of its own.
const foldUsesSQL = `SELECT seq, token_id, use FROM token_use_journal
	WHERE seq IN (SELECT value FROM json_each(?))`

// foldRef is a journaled use in a fold's order.
type foldRef struct{ rid, seq int64 }

func (s *Store) fold(ctx context.Context) (int, error) {
	upto, after, ok, err := s.foldStart(ctx)
	if err != nil || !ok {
		return 0, err
	}
	order, err := s.foldOrder(ctx, upto, after)
	if err != nil {
		return 0, err
	}
	applied, chunks := 0, 0
	for start := 0; start < len(order); {
		// A chunk ends between tokens, so that after_rid is exact.
		end, tokens := start, 0
		for ; end < len(order); end++ {
			if end == start || order[end].rid != order[end-1].rid {
				if tokens == foldChunk {
					break
				}
				tokens++
			}
		}
		chunk, err := s.foldUses(ctx, order[start:end])
		if err != nil {
			return applied, err
		}
		if foldFailAfter != nil {
			if err := foldFailAfter(chunks); err != nil {
				return applied, err
			}
		}
		rid := order[end-1].rid
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			if err := recordUses(ctx, tx, chunk); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE usage_fold SET after_rid = ? WHERE id = 1`, rid)
			return err
		}); err != nil {
			return applied, err
		}
		applied += len(chunk)
		chunks++
		start = end
	}
	return applied, s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM token_use_journal WHERE seq <= ?`, upto); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM usage_fold`)
		return err
	})
}

// foldOrder returns the journaled uses up to seq upto of tokens after row
// after, in the order they are applied.
func (s *Store) foldOrder(ctx context.Context, upto, after int64) ([]foldRef, error) {
	rows, err := s.r.QueryContext(ctx, foldOrderSQL, upto, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var order []foldRef
	for rows.Next() {
		var r foldRef
		if err := rows.Scan(&r.rid, &r.seq); err != nil {
			return nil, err
		}
		order = append(order, r)
	}
	return order, rows.Err()
}

// foldUses reads the uses refs name, in refs' order.
func (s *Store) foldUses(ctx context.Context, refs []foldRef) ([]store.TokenUse, error) {
	seqs := make([]int64, len(refs))
	for i, r := range refs {
		seqs[i] = r.seq
	}
	rows, err := s.r.QueryContext(ctx, foldUsesSQL, jsonText(seqs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bySeq := make(map[int64]store.TokenUse, len(refs))
	for rows.Next() {
		var (
			seq      int64
			id, text string
			j        journalUse
		)
		if err := rows.Scan(&seq, &id, &text); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(text), &j); err != nil {
			return nil, fmt.Errorf("journaled use of token %s: %w", id, err)
		}
		bySeq[seq] = j.use(id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	uses := make([]store.TokenUse, 0, len(refs))
	for _, r := range refs {
		if u, ok := bySeq[r.seq]; ok {
			uses = append(uses, u)
		}
	}
	return uses, nil
}

// foldStart returns the fold to run: the one an earlier fold left
// unfinished, else a new one of everything journaled now. ok is false when
// the journal is empty.
func (s *Store) foldStart(ctx context.Context) (upto, after int64, ok bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT upto, after_rid FROM usage_fold WHERE id = 1`).Scan(&upto, &after)
		if err == nil {
			ok = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM token_use_journal`).Scan(&last); err != nil {
			return err
		}
		if !last.Valid {
			return nil
		}
		upto, after, ok = last.Int64, 0, true
		_, err = tx.ExecContext(ctx, `INSERT INTO usage_fold (id, upto, after_rid) VALUES (1, ?, 0)`, upto)
		return err
	})
	return upto, after, ok, err
}

// JournaledTokenUses is how many uses wait in the journal for a fold.
func (s *Store) JournaledTokenUses(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM token_use_journal`).Scan(&n); err != nil {
		return 0, fmt.Errorf("journaled token uses: %w", err)
	}
	return n, nil
}
