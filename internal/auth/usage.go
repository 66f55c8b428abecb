package auth

import (
	"context"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/latchkey/latchkey/internal/store"
)

// UsageWriter stores a batch of aggregated token uses, with the audit
// events they carry, in one transaction.
type UsageWriter interface {
	RecordTokenUse(ctx context.Context, uses []store.TokenUse) error
}

// UsageJournal is a UsageWriter that can append a large batch to a journal
// cheaply and fold the journal into the tokens later (the SQLite store:
// see its usage journal). Usage journals batches of at least journalMin
// uses and folds every foldAge, or once foldRows uses wait.
type UsageJournal interface {
	JournalTokenUse(ctx context.Context, uses []store.TokenUse) error
	FoldTokenUse(ctx context.Context) (int, error)
}

const (
	// journalMin is the smallest batch journaled rather than written: a
	// small flush touches few pages, and is seen at once.
	journalMin = 500
	// foldRows is how many journaled uses start a fold before foldAge.
	foldRows = 250_000
	// foldAge is how long journaled uses wait at most for a fold, checked
	// every foldCheck: how far a token's stored last use may lag.
	foldAge   = time.Minute
	foldCheck = 5 * time.Second
	// journalPause is how long flushes write directly after a failed fold.
	journalPause = 10 * time.Minute
)

// Usage aggregates last-used time, address, agent and per-day request counts
// in memory and flushes them in batched writes every interval, so that
// verification never waits on the database.
//
// Each token in use has a cell of atomic counters; the verification cache
// keeps a pointer to it, so counting a cached request touches no lock and no
// map. Cells that saw a use are queued once for the next flush; cells idle
// for two intervals are dropped from the index. Memory is bounded: past
// maxTokens cells, uses of further tokens are dropped (and counted in a
// warning) until idle cells make room; from three quarters of it a flush
// starts at once instead of waiting for the interval.
//
// Addresses a cell sees for the first time ride with the token's next
// TokenUse; the store, which knows the addresses already stored, appends a
// "token.new_ip" audit event for those the token was not used from before,
// in the flush's transaction: verification itself never writes.
//
// A batch that fails to write (database down or refusing writes, disk
// full) is kept, merged per token with what was kept before, and written
// again before anything else by the next flushes; nothing is lost while
// the process lives unless more than maxTokens distinct tokens wait (then
// the excess is dropped and logged as an error). Close retries until its
// context ends. The failure also goes to the OnOutage function (readiness).
//
// When the writer keeps a journal (UsageJournal: the SQLite store), a
// batch of journalMin or more tokens is appended to it instead, and a
// second goroutine folds the journal into the tokens every foldAge, or as
// soon as foldRows uses wait: with many tokens each used now and then, a
// fold rewrites each page of the tokens once where flushes would rewrite
// it many times. A stored last use then lags by up to foldAge, as a busy
// token's does between its writes; Fold applies the journal on demand.
type Usage struct {
	w         UsageWriter
	logger    *slog.Logger
	interval  time.Duration
	maxTokens int64
	// writeEvery is how many flushes a busy token's uses wait between two
	// writes: a minute's worth, at most 12 (so tests with short intervals
	// see writes soon), at least 1.
	writeEvery uint64

	seed   maphash.Seed
	shards [usageShards]usageShard
	cells  atomic.Int64 // cells in the index

	qmu     sync.Mutex
	queue   []*useCell
	flushes atomic.Uint64 // flushes completed, numbering them
	dropped atomic.Int64

	flushMu sync.Mutex // one flush at a time
	// failed holds uses whose write failed, merged per token, oldest
	// first, for the next flush to write before anything else. Guarded
	// by flushMu.
	failed      []store.TokenUse
	failedIndex map[string]int
	kick        chan struct{} // asks the loop for an early flush

	// journal is w when it journals (nil otherwise); journaled counts the
	// uses appended since the last fold began, the first of them at
	// journalSince (Unix nanoseconds; 0 = none).
	journal      UsageJournal
	journaled    atomic.Int64
	journalSince atomic.Int64
	foldMu       sync.Mutex // one fold at a time
	// journalOff is when journaling may resume after a failed fold (Unix
	// nanoseconds): until then batches are written directly, so a journal
	// that cannot be folded (no space for the fold's sort) stops growing.
	journalOff atomic.Int64
	foldKick   chan struct{}
	foldDone   chan struct{}

	// outage is told about failed writes the storage explains (OnOutage).
	outage atomic.Pointer[func(error)]

	stop    chan struct{}
	done    chan struct{}
	started sync.Once
	stopped sync.Once
	running atomic.Bool
}

// usageShards spreads the cell index over locks for the uncached path.
const usageShards = 64

type usageShard struct {
	mu sync.Mutex
	m  map[string]*useCell
	_  [40]byte // keep shards on separate cache lines
}

// DefaultUsageTokens bounds the distinct tokens tracked in memory (a few
// hundred bytes each). Past three quarters of it a flush writes everything.
// A bound of 20,000 was measured on 1 December (BENCHMARKS.md): verify-cold
// RSS did not move (307 vs 309 MB) and uncached verification lost ~5% to
// smaller, more frequent flushes, so the bound stays.
const DefaultUsageTokens = 50_000

// flushChunk bounds one RecordTokenUse call, so a large flush does not hold
// the database's write lock for long.
const flushChunk = 2_000

// NewUsage returns a recorder; call Run to start flushing.
func NewUsage(w UsageWriter, interval time.Duration, logger *slog.Logger) *Usage {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if logger == nil {
		logger = slog.Default()
	}
	u := &Usage{
		w: w, logger: logger, interval: interval, maxTokens: DefaultUsageTokens,
		writeEvery: uint64(min(12, max(1, int64(time.Minute/interval)))),
		seed:       maphash.MakeSeed(),
		stop:       make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1),
		failedIndex: map[string]int{},
		foldKick:    make(chan struct{}, 1), foldDone: make(chan struct{}),
	}
	u.journal, _ = w.(UsageJournal)
	for i := range u.shards {
		u.shards[i].m = map[string]*useCell{}
	}
	return u
}

// SetLimit changes how many distinct tokens are tracked between flushes.
func (u *Usage) SetLimit(n int) {
	if n > 0 {
		u.maxTokens = int64(n)
	}
}

// OnOutage sets fn, told about every usage write (a flush, its retries, a
// fold of the journal) that fails for a reason store.Outage recognises: a
// database that refuses writes (a standby) or went away, a full disk.
// Flushes run in the background, where no request is answered 503 for
// them, so the server hands fn to readiness: with writes refused and only
// verification traffic (which reads), /readyz would otherwise stay ready
// while the usage kept for a retry grows. Retries are unchanged. Call it
// before Run.
func (u *Usage) OnOutage(fn func(error)) {
	if fn == nil {
		u.outage.Store(nil)
		return
	}
	u.outage.Store(&fn)
}

// reportOutage tells the OnOutage function about err when the storage
// explains it.
func (u *Usage) reportOutage(err error) {
	fn := u.outage.Load()
	if fn == nil {
		return
	}
	if _, _, ok := store.Outage(err); ok {
		(*fn)(err)
	}
}

// Record notes one use of t. It only touches memory.
func (u *Usage) Record(t *store.Token, at time.Time, ip, agent string) {
	if c := u.cell(t); c != nil {
		c.hit(u, at.UnixNano(), ip, agent)
	}
}

// cell returns t's cell, creating it; nil when the memory bound is reached.
func (u *Usage) cell(t *store.Token) *useCell {
	sh := &u.shards[maphash.String(u.seed, t.ID)%usageShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c, ok := sh.m[t.ID]; ok {
		c.update(t)
		return c
	}
	if u.cells.Load() >= u.maxTokens {
		u.dropped.Add(1)
		return nil
	}
	c := &useCell{id: t.ID, usedFlush: u.flushes.Load()}
	c.ref = &cellRef{p: weak.Make(c)}
	c.update(t)
	sh.m[t.ID] = c
	if n := u.cells.Add(1); n == u.maxTokens*3/4 {
		select { // memory is running short: flush now
		case u.kick <- struct{}{}:
		default:
		}
	}
	return c
}

func (u *Usage) enqueue(c *useCell) {
	u.qmu.Lock()
	u.queue = append(u.queue, c)
	u.qmu.Unlock()
}

// Run flushes every interval until Close, and folds the writer's journal
// when it has one.
func (u *Usage) Run() {
	u.started.Do(func() {
		u.running.Store(true)
		go u.foldLoop()
		u.loop()
	})
}

// foldLoop folds the journal when it is due, beside the flushes (a fold
// takes seconds; flushes must go on meanwhile), until Close. It first folds
// what an earlier process may have left.
func (u *Usage) foldLoop() {
	defer close(u.foldDone)
	if u.journal == nil {
		return
	}
	u.foldNow(context.Background())
	tick := time.NewTicker(min(foldCheck, u.interval))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if since := u.journalSince.Load(); since > 0 && time.Now().UnixNano()-since >= int64(foldAge) {
				u.foldNow(context.Background())
			}
		case <-u.foldKick:
			u.foldNow(context.Background())
		case <-u.stop:
			return
		}
	}
}

// Fold applies the writer's journal now (nothing when it has none), so
// that what was flushed is in the tokens: the unused-token cleanup calls it
// before judging last uses.
func (u *Usage) Fold(ctx context.Context) error {
	if u.journal == nil {
		return nil
	}
	return u.foldNow(ctx)
}

func (u *Usage) foldNow(ctx context.Context) error {
	u.foldMu.Lock()
	defer u.foldMu.Unlock()
	n, since := u.journaled.Swap(0), u.journalSince.Swap(0)
	if _, err := u.journal.FoldTokenUse(ctx); err != nil {
		// What was journaled stays there; the next check tries again.
		u.journaled.Add(n)
		u.journalSince.CompareAndSwap(0, max(since, 1))
		u.journalOff.Store(time.Now().Add(journalPause).UnixNano())
		u.logger.Error("fold journaled token usage: kept for the next fold; flushes write directly meanwhile", "uses", n, "err", err)
		u.reportOutage(err)
		return err
	}
	return nil
}

// noteJournaled counts n uses just journaled, and starts a fold when
// enough wait.
func (u *Usage) noteJournaled(n int) {
	u.journalSince.CompareAndSwap(0, time.Now().UnixNano())
	if u.journaled.Add(int64(n)) >= foldRows {
		select {
		case u.foldKick <- struct{}{}:
		default:
		}
	}
}

func (u *Usage) loop() {
	defer close(u.done)
	tick := time.NewTicker(u.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			u.Flush(context.Background())
		case <-u.kick:
			u.Flush(context.Background())
		case <-u.stop:
			return
		}
	}
}

// Flush writes what is due, in batches of at most flushChunk tokens, and
// forgets cells idle for two intervals. A token's first use is written by
// the next flush; a token in constant use is written every writeEvery
// flushes (a minute at the default interval), or at once when memory runs
// short, and everything is written by Close.
func (u *Usage) Flush(ctx context.Context) {
	u.flush(ctx, u.cells.Load() >= u.maxTokens*3/4)
}

func (u *Usage) flush(ctx context.Context, force bool) {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	flush := u.flushes.Add(1)
	u.qmu.Lock()
	queue := u.queue
	u.queue = nil
	u.qmu.Unlock()

	// What failed before goes first; after a failure in this flush the
	// rest is kept without trying (the database is likely still down).
	ok := u.retry(ctx)
	var later []*useCell
	for start := 0; start < len(queue); start += flushChunk {
		later, ok = u.write(ctx, queue[start:min(start+flushChunk, len(queue))], flush, force, later, ok)
	}
	if len(later) > 0 {
		u.qmu.Lock()
		u.queue = append(u.queue, later...)
		u.qmu.Unlock()
	}
	if d := u.dropped.Swap(0); d > 0 {
		u.logger.Warn("usage tracking dropped uses over its memory bound", "dropped", d, "limit", u.maxTokens)
	}
	// Cells not used since the previous flush are forgotten (a cached
	// entry fetches a fresh one on its next use); under memory pressure,
	// every cell with nothing left to write is.
	if force {
		u.sweep(flush + 1)
	} else {
		u.sweep(flush)
	}
}

// write takes what is due from cells and writes it in one batch (or keeps
// it for a retry when try is false or the write fails); cells with uses
// that wait for a later flush are appended to later. Batches are built
// chunk by chunk so a large flush holds little memory at a time. It
// returns whether writing still works.
func (u *Usage) write(ctx context.Context, cells []*useCell, flush uint64, force bool, later []*useCell, try bool) ([]*useCell, bool) {
	batch := make([]store.TokenUse, 0, len(cells))
	index := make(map[string]int, len(cells))
	for _, c := range cells {
		use, ok, keep := c.take(flush, u.writeEvery, force)
		if keep {
			later = append(later, c)
		}
		if !ok {
			continue
		}
		if i, dup := index[use.TokenID]; dup { // a detached cell and its successor
			mergeUse(&batch[i], use)
			continue
		}
		index[use.TokenID] = len(batch)
		batch = append(batch, use)
	}
	if len(batch) == 0 {
		return later, try
	}
	if !try {
		u.keep(batch)
		return later, false
	}
	if err := u.record(ctx, batch); err != nil {
		u.logger.Error("flush token usage: kept for a retry", "tokens", len(batch), "err", err)
		u.reportOutage(err)
		u.keep(batch)
		return later, false
	}
	return later, true
}

// record writes a batch: appended to the journal when the writer keeps one
// and the batch is large, else applied at once.
func (u *Usage) record(ctx context.Context, batch []store.TokenUse) error {
	if u.journal == nil || len(batch) < journalMin || time.Now().UnixNano() < u.journalOff.Load() {
		return u.w.RecordTokenUse(ctx, batch)
	}
	if err := u.journal.JournalTokenUse(ctx, batch); err != nil {
		return err
	}
	u.noteJournaled(len(batch))
	return nil
}

// keep merges a batch that could not be written into what waits for a
// retry. Past maxTokens waiting tokens the excess is dropped, and said.
func (u *Usage) keep(batch []store.TokenUse) {
	lost := 0
	for _, use := range batch {
		if i, ok := u.failedIndex[use.TokenID]; ok {
			mergeUse(&u.failed[i], use)
			continue
		}
		if int64(len(u.failed)) >= u.maxTokens {
			lost++
			continue
		}
		u.failedIndex[use.TokenID] = len(u.failed)
		u.failed = append(u.failed, use)
	}
	if lost > 0 {
		u.logger.Error("token usage lost: too many tokens wait for a retry", "tokens", lost, "waiting", len(u.failed))
	}
}

// retry writes what failed before, oldest first, and reports whether
// writing works; what fails again stays.
func (u *Usage) retry(ctx context.Context) bool {
	if len(u.failed) == 0 {
		return true
	}
	for len(u.failed) > 0 {
		chunk := u.failed[:min(flushChunk, len(u.failed))]
		if err := u.record(ctx, chunk); err != nil {
			u.logger.Error("flush token usage: retry failed", "waiting", len(u.failed), "err", err)
			u.reportOutage(err)
			return false
		}
		for _, use := range chunk {
			delete(u.failedIndex, use.TokenID)
		}
		u.failed = u.failed[len(chunk):]
		for id, i := range u.failedIndex {
			u.failedIndex[id] = i - len(chunk)
		}
	}
	u.failed = nil
	return true
}

// Waiting is how many tokens' uses wait for a retry after a failed write.
func (u *Usage) Waiting() int {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	return len(u.failed)
}

// sweep drops cells with nothing to write whose last written use is from
// before flush number f.
func (u *Usage) sweep(f uint64) {
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		for id, c := range sh.m {
			if c.idleSince(f) {
				c.detached.Store(true)
				delete(sh.m, id)
				u.cells.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
}

func mergeUse(dst *store.TokenUse, src store.TokenUse) {
	if src.At.After(dst.At) {
		dst.At, dst.IP, dst.Agent = src.At, src.IP, src.Agent
	}
	for d, n := range src.Counts {
		dst.Counts[d] += n
	}
	for _, ip := range src.IPs {
		if len(dst.IPs) < store.RecentIPsKept && !slices.Contains(dst.IPs, ip) {
			dst.IPs = append(dst.IPs, ip)
		}
	}
	for _, a := range src.NewAddresses {
		if !slices.ContainsFunc(dst.NewAddresses, func(d store.AddressUse) bool { return d.IP == a.IP }) {
			dst.NewAddresses = append(dst.NewAddresses, a)
		}
	}
}

// closeRetry is how long Close waits between attempts to write what is
// left while the database refuses.
const closeRetry = 250 * time.Millisecond

// Close stops the flusher and writes what is left, retrying a failed write
// until ctx ends; what could not be written by then is logged as lost.
// Then it folds the journal, if any: what a failed fold leaves in the
// journal is folded by the next start.
func (u *Usage) Close(ctx context.Context) {
	u.stopped.Do(func() {
		close(u.stop)
		if u.running.Load() {
			<-u.done
			<-u.foldDone
		}
	})
	defer func() {
		if u.journal != nil {
			_ = u.foldNow(ctx) // an error is logged; the journal keeps the uses
		}
	}()
	u.flush(ctx, true)
	for u.Waiting() > 0 {
		select {
		case <-ctx.Done():
			u.logger.Error("token usage lost at shutdown: the last flush could not be written", "tokens", u.Waiting(), "err", ctx.Err())
			return
		case <-time.After(closeRetry):
		}
		u.flushMu.Lock()
		u.retry(ctx)
		u.flushMu.Unlock()
	}
}

// Tracked is how many tokens currently have a usage cell in memory.
func (u *Usage) Tracked() int { return int(u.cells.Load()) }

func unixNanoUTC(n int64) time.Time { return time.Unix(0, n).UTC() }

func dayString(day int64) string {
	return time.Unix(day*(nanosPerDay/1e9), 0).UTC().Format(time.DateOnly)
}
