package auth

// Purge drops every cached verification, every remembered unknown digest
// and every owner snapshot: the next request for each credential reads the
// store again. A replica calls it when changes made elsewhere may have gone
// unannounced (its notification feed was down), so that staleness is not
// bounded by the TTL but ends when the feed is back.
func (c *Cache) Purge() {
	c.gen.Add(1)
	c.entries.InvalidateAll()
	c.negative.InvalidateAll()
	c.owners.mu.Lock()
	for _, r := range c.owners.m {
		r.stale.Store(true)
	}
	clear(c.owners.m)
	c.owners.mu.Unlock()
	// A read that began before the purge and ends after it compares the
	// generation, so it does not put back what it read before.
	c.gen.Add(1)
}
