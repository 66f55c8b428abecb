package auth

import (
	"sync/atomic"
	"time"
)

// wallClock reads the wall clock in Unix nanoseconds for the price of one
// monotonic clock read: time.Now reads both clocks, which costs about as
// much as the rest of a cached verification on a virtual machine. It
// re-reads the wall clock every rebaseEvery, so a step of the system clock
// is followed within that time.
type wallClock struct {
	base atomic.Pointer[clockBase]
}

type clockBase struct {
	at   time.Time // carries the monotonic reading
	wall int64     // at, in Unix nanoseconds
}

const rebaseEvery = 100 * time.Millisecond

func newWallClock() *wallClock {
	c := &wallClock{}
	c.rebase()
	return c
}

func (c *wallClock) rebase() *clockBase {
	now := time.Now()
	b := &clockBase{at: now, wall: now.UnixNano()}
	c.base.Store(b)
	return b
}

// nowNano is the current wall-clock time in Unix nanoseconds.
func (c *wallClock) nowNano() int64 {
	b := c.base.Load()
	d := time.Since(b.at)
	if d >= rebaseEvery || d < 0 {
		b, d = c.rebase(), 0
	}
	return b.wall + int64(d)
}
