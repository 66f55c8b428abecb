package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	zsqlite "zombiezen.com/go/sqlite"

	"github.com/latchkey/latchkey/internal/store"
)

// The usage journal. When every request is a token's first use (a large
// platform with many tokens, each used now and then), RecordTokenUse
// rewrites about one page of token_last_use and one of token_usage per
// use, spread over the whole file: with 1M tokens, each flush rewrites tens
// of thousands of pages, each written to the WAL and again by a checkpoint.
// JournalTokenUse instead appends the batch to token_use_journal, whose
// pages fill one after the other; FoldTokenUse later applies everything
// journaled in the tokens' row order (which, tokens' ids being UUIDv7 in
// creation order, is also their ids' order, the key of token_last_use and
// token_usage), so that each page of those is rewritten once per fold
// however many of its tokens were used. The caller (auth.Usage) journals
// large batches and folds every minute, or sooner when the journal grows;
// until a fold, a token's stored last use lags behind by at most that
// long, as a busy token's already does between its writes.

// journalChunk bounds the uses one appending statement carries.
const journalChunk = 5_000

// journalArgSize is about the length of a journaled use as JSON text (a
// first use is ~100 bytes), to size the text of a chunk at once.
const journalArgSize = 128

// foldChunk is how many tokens one fold transaction applies: small enough
// that writers waiting for the write connection (token creation) wait
// little, large enough that a transaction's fsync is shared widely.
const foldChunk = 2_000

// journalUse is a store.TokenUse as token_use_journal keeps it.
//
// Most journaled uses are a token's first in a while, from one address:
// their recent addresses are that address, their one new address is that
// use, and their counts are of the use's day. Those parts are then kept in
// a short form (Same, N) rather than spelled out: half the bytes, and
// no list, object or map for the fold to decode. A row written without the
// short form (by an earlier version) reads as before.
type journalUse struct {
	At     *int64           `json:"t,omitempty"` // Unix microseconds; nil: zero time
	IP     string           `json:"i,omitempty"`
	Agent  string           `json:"a,omitempty"`
	IPs    []string         `json:"r,omitempty"`
	Counts map[string]int64 `json:"c,omitempty"`
	New    []journalAddress `json:"n,omitempty"`
	Same   journalSame      `json:"s,omitempty"`
	// N > 0: Counts is {the UTC day of At: N}.
	N int64 `json:"k,omitempty"`
}

// journalSame says which lists of a journalUse are the use itself.
type journalSame uint8

const (
	sameIPs journalSame = 1 << iota // IPs is [IP]
	sameNew                         // New is one address: IP and Agent at At
)

// journalArg is a row JournalTokenUse appends, as a JSON object for
// jsonb_each (typed: nothing is boxed in an interface to encode it).
type journalArg struct {
	ID  string     `json:"i"`
	Use journalUse `json:"u"`
}

type journalAddress struct {
	IP    string `json:"i"`
	Agent string `json:"a,omitempty"`
	At    int64  `json:"t"` // Unix microseconds
}

func toJournal(u store.TokenUse) journalUse {
	j := journalUse{IP: u.IP, Agent: u.Agent}
	if !u.At.IsZero() {
		at := micros(u.At)
		j.At = &at
	}
	if len(u.IPs) == 1 && u.IPs[0] == u.IP && u.IP != "" {
		j.Same |= sameIPs
	} else {
		j.IPs = u.IPs
	}
	if j.At != nil && len(u.NewAddresses) == 1 && u.NewAddresses[0].IP == u.IP && u.IP != "" &&
		u.NewAddresses[0].Agent == u.Agent && micros(u.NewAddresses[0].At) == *j.At {
		j.Same |= sameNew
	} else {
		for _, a := range u.NewAddresses {
			j.New = append(j.New, journalAddress{IP: a.IP, Agent: a.Agent, At: micros(a.At)})
		}
	}
	if n, ok := u.Counts[journalDay(j.At)]; ok && len(u.Counts) == 1 && n > 0 {
		j.N = n
	} else {
		j.Counts = u.Counts
	}
	return j
}

// journalDay is the UTC day of a journaled use's time, as a key of
// store.TokenUse.Counts; "" when it has none.
func journalDay(at *int64) string {
	if at == nil {
		return ""
	}
	return fromMicros(*at).Format(time.DateOnly)
}

func (j journalUse) use(tokenID string) store.TokenUse {
	u := store.TokenUse{TokenID: tokenID, IP: j.IP, Agent: j.Agent, IPs: j.IPs, Counts: j.Counts}
	if j.At != nil {
		u.At = fromMicros(*j.At)
	}
	if j.Same&sameIPs != 0 {
		u.IPs = []string{j.IP}
	}
	if j.N > 0 && j.At != nil {
		u.Counts = map[string]int64{journalDay(j.At): j.N}
	}
	if u.Counts == nil {
		u.Counts = map[string]int64{}
	}
	if j.Same&sameNew != 0 && j.At != nil {
		u.NewAddresses = []store.AddressUse{{IP: j.IP, Agent: j.Agent, At: u.At}}
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
	rows := make([]journalArg, 0, len(uses))
	for _, u := range uses {
		if err := validDays(u.Counts); err != nil {
			return fmt.Errorf("journal token use: token %s: %w", u.TokenID, err)
		}
		rows = append(rows, journalArg{ID: u.TokenID, Use: toJournal(u)})
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The text is passed as a string: jsonb_each reads a []byte, bound
		// as a BLOB, as binary JSON.
		var text []byte
		for start := 0; start < len(rows); start += journalChunk {
			chunk := rows[start:min(start+journalChunk, len(rows))]
			text = appendJournalArgs(slices.Grow(text[:0], len(chunk)*journalArgSize), chunk)
			if _, err := tx.ExecContext(ctx, `INSERT INTO token_use_journal (token_id, use)
				SELECT json_extract(value, '$.i'), json_extract(value, '$.u') FROM jsonb_each(?)`,
				string(text)); err != nil {
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
// Uses are sorted in one pass by the tokens' rowid, into a temporary table
// of the fold's own connection (foldSortSQL, foldConn), and applied in
// transactions of foldChunk tokens, in that order, so each page is written
// once; no read of the database stays open across those commits. Each
// transaction also records the last rowid it applied in usage_fold: a fold
// interrupted by an error or a crash resumes after it, so nothing is lost
// or counted twice. Uses appended while a fold runs wait for the next one.
// Uses of deleted tokens are dropped.
func (s *Store) FoldTokenUse(ctx context.Context) (int, error) {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	n, err := s.fold(ctx)
	if err != nil {
		return n, fmt.Errorf("fold token use: %w", err)
	}
	return n, nil
}

// foldSortSQL reads the journaled uses of a fold in the order they are
// applied, the tokens' row order: one pass over the journal, each token
// found by its id in the covering tokens(id) index, then one sort.
//
// The fold copies this into a temporary table of its own connection
// (foldConn) and applies it from there. A read of the tokens' database left
// open across the fold's commits would keep its snapshot, and with it every
// page the fold writes in the WAL, which could then not start over (it grew
// to 170-270 MB folding 300,000 uses of 1M tokens); the copy is read to the
// end by one statement, and reading the temporary table holds no snapshot
// of the database. Reading each chunk's uses back from the journal by seq
// instead, a random search per use, made the fold's reads cost as much as
// its writes.
const foldSortSQL = `SELECT t.rowid, j.token_id, j.use
	FROM token_use_journal AS j CROSS JOIN tokens AS t ON t.id = j.token_id
	WHERE j.seq <= ? AND t.rowid > ? ORDER BY t.rowid, j.seq`

// foldConn is the connection a fold reads the journal on, in its order.
//
// It is opened for one fold and closed after it, which drops its temporary
// table; its temporary storage is a file (the sort and the copy of 250,000
// uses are ~40 MB), kept in the operating system's page cache rather than
// in the server's memory.
type foldConn struct {
	c       *zsqlite.Conn
	rows    *zsqlite.Stmt // the sorted uses, in order
	pending foldRow       // a row read past the previous chunk
	done    bool          // rows has ended (and Step would start it over)
	// uses and rids are next's results, reused from chunk to chunk (a
	// chunk is applied before the next is read): grown one use at a
	// time for every chunk, they were a tenth of a fold's allocations.
	uses []store.TokenUse
	rids []int64
	buf  []byte         // a row's journaled use, read without a string of its own
	dec  journalDecoder // reads buf, sharing memory across the fold's uses
}

// foldRow is a row of a fold's sorted uses.
type foldRow struct {
	ok  bool
	rid int64
	id  string
	use journalUse
}

// openFold sorts the uses journaled up to seq upto of tokens after row
// after into a new foldConn. The connection's statements end with an error
// when ctx does.
func (s *Store) openFold(ctx context.Context, upto, after int64) (*foldConn, error) {
	c, err := openConn(s.uri)
	if err != nil {
		return nil, zsqliteError(err)
	}
	c.SetInterrupt(ctx.Done())
	f := &foldConn{c: c}
	for _, q := range []string{
		"PRAGMA temp_store = FILE",
		"CREATE TEMP TABLE fold_work (rid INTEGER NOT NULL, token_id TEXT NOT NULL, use TEXT NOT NULL)",
	} {
		if err = execConn(c, q); err != nil {
			break
		}
	}
	if err == nil {
		err = execConn(c, `INSERT INTO temp.fold_work (rid, token_id, use) `+foldSortSQL, upto, after)
	}
	if err == nil {
		f.rows, err = c.Prepare(`SELECT rid, token_id, use FROM temp.fold_work ORDER BY rowid`)
	}
	if err != nil {
		c.Close()
		return nil, zsqliteError(err)
	}
	return f, nil
}

// next reads the uses of the next chunk: those of up to foldChunk tokens,
// ending between two tokens so that the chunk's last row is exact for
// usage_fold, and the rowids of their tokens. It returns no uses at the
// end.
func (f *foldConn) next() ([]store.TokenUse, []int64, error) {
	clear(f.uses) // what the previous chunk's uses held is garbage now
	uses, rids := f.uses[:0], f.rids[:0]
	defer func() { f.uses, f.rids = uses, rids }()
	tokens := 0
	for {
		r := f.pending
		if !r.ok {
			if f.done {
				return uses, rids, nil
			}
			row, err := f.rows.Step()
			if err != nil {
				return nil, nil, zsqliteError(err)
			}
			if !row {
				f.done = true
				return uses, rids, nil
			}
			r = foldRow{ok: true, rid: f.rows.ColumnInt64(0), id: f.rows.ColumnText(1)}
			f.buf = slices.Grow(f.buf[:0], f.rows.ColumnLen(2))[:f.rows.ColumnLen(2)]
			f.rows.ColumnBytes(2, f.buf)
			if err := f.dec.decode(f.buf, &r.use); err != nil {
				return nil, nil, fmt.Errorf("journaled use of token %s: %w", r.id, err)
			}
		}
		f.pending = foldRow{}
		if len(rids) == 0 || rids[len(rids)-1] != r.rid {
			if tokens == foldChunk {
				f.pending = r // the first of the next chunk
				return uses, rids, nil
			}
			tokens++
		}
		uses, rids = append(uses, r.use.use(r.id)), append(rids, r.rid)
	}
}

func (f *foldConn) close() {
	f.rows.Finalize()
	f.c.Close()
}

func (s *Store) fold(ctx context.Context) (int, error) {
	upto, after, ok, err := s.foldStart(ctx)
	if err != nil || !ok {
		return 0, err
	}
	f, err := s.openFold(ctx, upto, after)
	if err != nil {
		return 0, err
	}
	defer f.close()
	applied := 0
	for chunks := 0; ; chunks++ {
		chunk, rids, err := f.next()
		if err != nil {
			return applied, err
		}
		if len(chunk) == 0 {
			break
		}
		if foldFailAfter != nil {
			if err := foldFailAfter(chunks); err != nil {
				return applied, err
			}
		}
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			if err := recordUsesOf(ctx, tx, chunk, rids); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE usage_fold SET after_rid = ? WHERE id = 1`, rids[len(rids)-1])
			return err
		}); err != nil {
			return applied, err
		}
		applied += len(chunk)
	}
	return applied, s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM token_use_journal WHERE seq <= ?`, upto); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM usage_fold`)
		return err
	})
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
