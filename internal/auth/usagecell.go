package auth

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/latchkey/latchkey/internal/store"
)

// lastUsePrecision is how precisely the last use of a token is recorded.
const lastUsePrecision = int64(time.Millisecond)

// nanosPerDay turns Unix nanoseconds into a UTC day number.
const nanosPerDay = int64(24 * 60 * 60 * 1e9)

// useCell aggregates the uses of one token between two flushes. Its hot
// path (hit) is a handful of atomic operations on memory owned by the token,
// so concurrent requests for different tokens never share a lock and
// requests for the same token share only a counter.
type useCell struct {
	id  string
	ref *cellRef // how cached entries hold the cell: weakly

	n      atomic.Int64 // uses on day since the last flush
	day    atomic.Int64 // UTC day number n counts for
	last   atomic.Int64 // latest use, Unix nanoseconds
	meta   atomic.Pointer[useMeta]
	queued atomic.Bool // in the Usage's dirty list, waiting for a flush
	// detached is set when the cell left the Usage's index for being idle;
	// holders then fetch a fresh cell, and uses already counted here are
	// still flushed because the cell stays queued.
	detached atomic.Bool

	mu sync.Mutex // guards the fields below: the slow paths only
	// The token's stored recent addresses, from the latest row read; the
	// cell keeps this list, not the row, so that tracking many tokens
	// costs little memory.
	recent []string
	spill  map[int64]int64 // counts of earlier days not yet written
	ips    []string        // distinct IPs since the last write, most recent first
	// known are the last few distinct IPs this cell has seen, kept across
	// flushes: recent may come from a cached row read before those uses
	// were written, so it alone would call a second address the first.
	known []string
	// addrs are addresses first seen by this cell, for the next write:
	// the store audits those the token was not used from before.
	addrs []store.AddressUse
	// regenerated is the token's last regeneration seen (Unix nanoseconds,
	// 0 = never): uses after a new secret are written by the next flush,
	// like a first use, not up to a minute later like a busy token's.
	regenerated  int64
	usedFlush    uint64 // number of the last flush that found uses
	writtenFlush uint64 // number of the last flush that wrote the cell; 0 = never
}

// cellRef is a weak pointer to a cell, shared by the cell's cached
// entries. The Usage's index and its flush queue hold cells strongly; an
// entry of the verification cache only through its cellRef, so a cell the
// index forgot and the flush wrote is collected while the entry stays
// cached (with a million tokens, most entries are used once and keep no
// cell alive: a fifth of the cache's memory).
type cellRef struct{ p weak.Pointer[useCell] }

// update takes the token's latest row: its recent addresses decide what a
// new address is, and a regeneration makes the next uses due at once.
func (c *useCell) update(t *store.Token) {
	var regen int64
	if t.RegeneratedAt != nil {
		regen = t.RegeneratedAt.UnixNano()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Equal(c.recent, t.RecentIPs) {
		c.recent = t.RecentIPs
	}
	if regen != c.regenerated {
		c.regenerated, c.writtenFlush = regen, 0
	}
}

// useMeta is the address and agent of the latest use. It is replaced, never
// modified, so one atomic load reads both.
type useMeta struct{ ip, agent string }

// hit counts one use. It allocates only when the address or agent differs
// from the previous use's, or on the first use of a UTC day.
func (c *useCell) hit(u *Usage, nowNano int64, ip, agent string) {
	day := nowNano / nanosPerDay
	if c.day.Load() != day {
		c.rollDay(day)
	}
	c.n.Add(1)
	// The last use is kept to the millisecond: storing it on every request
	// would make concurrent uses of one token fight over its cache line.
	if nowNano >= c.last.Load()+lastUsePrecision {
		c.last.Store(nowNano)
	}
	if m := c.meta.Load(); m == nil || m.ip != ip || m.agent != agent {
		c.setMeta(u, nowNano, ip, agent)
	}
	if !c.queued.Load() && c.queued.CompareAndSwap(false, true) {
		u.enqueue(c)
	}
}

// rollDay moves the previous day's count aside so that per-day counts stay
// exact across midnight (to within the requests racing the switch).
func (c *useCell) rollDay(day int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.day.Load()
	if old == day {
		return
	}
	if n := c.n.Swap(0); n > 0 && old != 0 {
		if c.spill == nil {
			c.spill = map[int64]int64{}
		}
		c.spill[old] += n
	}
	c.day.Store(day)
}

// setMeta records a new address or agent, and reports a first use from an
// address the token has not been used from before.
func (c *useCell) setMeta(u *Usage, nowNano int64, ip, agent string) {
	c.meta.Store(&useMeta{ip: ip, agent: agent})
	if ip == "" {
		return
	}
	c.mu.Lock()
	if slices.Contains(c.ips, ip) {
		c.mu.Unlock()
		return
	}
	if len(c.ips) < store.RecentIPsKept {
		c.ips = append([]string{ip}, c.ips...)
	}
	isNew := !slices.Contains(c.recent, ip) && !slices.Contains(c.known, ip)
	if !slices.Contains(c.known, ip) {
		c.known = append([]string{ip}, c.known...)
		if len(c.known) > store.RecentIPsKept {
			c.known = c.known[:store.RecentIPsKept]
		}
	}
	// Whether the address is new for the token is decided by the store,
	// against the stored addresses, in the transaction that writes the
	// use: the row this cell saw may be older than the last flush.
	if isNew && len(c.addrs) < store.RecentIPsKept {
		c.addrs = append(c.addrs, store.AddressUse{IP: ip, Agent: agent, At: unixNanoUTC(nowNano)})
	}
	c.mu.Unlock()
}

// take empties the cell into a TokenUse when it is due for a write at
// flush number flush: ok is false when it saw no use, keep is true when it
// has uses that wait for a later flush. A cell is due on its first write, a
// new UTC day, when force is set, and every writeEvery flushes: a busy
// token costs one row write a minute, not one per flush.
func (c *useCell) take(flush, writeEvery uint64, force bool) (use store.TokenUse, ok, keep bool) {
	c.mu.Lock()
	due := force || c.writtenFlush == 0 || flush-c.writtenFlush >= writeEvery || len(c.spill) > 0 || len(c.addrs) > 0
	if !due {
		c.mu.Unlock()
		return store.TokenUse{}, false, true
	}
	// The queued flag is cleared before the counter is taken, so a use
	// racing this flush queues the cell again and is written later.
	c.queued.Store(false)
	n := c.n.Swap(0)
	day := c.day.Load()
	spill, ips, addrs := c.spill, c.ips, c.addrs
	c.spill, c.ips, c.addrs = nil, nil, nil
	if n > 0 || len(spill) > 0 {
		c.usedFlush, c.writtenFlush = flush, flush
	}
	c.mu.Unlock()
	if n == 0 && len(spill) == 0 && len(addrs) == 0 {
		return store.TokenUse{}, false, false
	}
	use = store.TokenUse{TokenID: c.id, Counts: make(map[string]int64, 1+len(spill)), IPs: ips, NewAddresses: addrs}
	if last := c.last.Load(); last > 0 {
		use.At = unixNanoUTC(last)
	}
	if m := c.meta.Load(); m != nil {
		use.IP, use.Agent = m.ip, m.agent
	}
	if n > 0 {
		use.Counts[dayString(day)] += n
	}
	for d, k := range spill {
		use.Counts[dayString(d)] += k
	}
	return use, true, false
}

// idleSince reports whether the cell has nothing to write and its last
// written use is from before flush number f.
func (c *useCell) idleSince(f uint64) bool {
	if c.queued.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usedFlush < f
}
