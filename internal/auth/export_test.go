package auth

import (
	"time"

	"github.com/latchkey/latchkey/internal/token"
)

// CachedUsageCell reports whether secret's verification is cached at now,
// and whether its entry still reaches a usage cell.
func CachedUsageCell(c *Cache, secret string, now time.Time) (cached, cell bool) {
	e := c.lookup(token.Hash(secret), now.UnixNano())
	if e == nil {
		return false, false
	}
	r := e.cell.Load()
	return true, r != nil && r.p.Value() != nil
}
