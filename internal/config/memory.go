package config

import (
	"fmt"
	"math"
	"strings"

	"github.com/dustin/go-humanize"
)

// Memory limit of `latchkey serve` (--memory-limit).
//
// Go's garbage collector lets the heap grow to twice what is live before
// it collects, and returns freed memory to the system slowly. A server
// whose live heap is mostly a full verification cache therefore sits at
// about twice the cache's size, plus what was freed but not yet returned.
// A soft limit (runtime/debug.SetMemoryLimit) makes the collector run
// earlier and return memory as the process nears it, so resident memory
// follows what is live instead of its double.
const (
	// memoryLimitBase covers what a server holds apart from its cache:
	// usage tracking at its bound, the scope and owner tables, buffers of
	// requests in flight and the collector's headroom.
	memoryLimitBase = 64 << 20
	// memoryLimitPerEntry covers one verification-cache entry: the token
	// row, its prepared entry, Principal and identity, and the cache's
	// node, about 1,030 bytes live (BenchmarkCacheEntryBytes in
	// internal/auth), with a little room for the collector. With no room
	// (1,000 bytes against 1,218 live, until 2 December) a full cache made
	// the collector run without pause: half the CPU of verify-cold.
	memoryLimitPerEntry = 1_200
	// memoryLimitMin is the smallest explicit limit accepted: below it the
	// collector would run without pause.
	memoryLimitMin = 32 << 20
)

// MemoryLimitBytes is the soft heap limit --memory-limit asks for: the
// auto limit for "auto" (see AutoMemoryLimit), 0 for "off" (no limit),
// else the parsed size. $GOMEMLIMIT, when set, is the runtime's own and
// overrides "auto" (see serve).
func (c *Serve) MemoryLimitBytes() (int64, error) {
	v := strings.TrimSpace(c.MemoryLimit)
	switch strings.ToLower(v) {
	case "", "auto":
		return AutoMemoryLimit(c.CacheSize), nil
	case "off", "0", "none":
		return 0, nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit %q is not a size: write auto, off, or a size such as 512MiB or 1GB", c.MemoryLimit)
	}
	if n < memoryLimitMin {
		return 0, fmt.Errorf("--memory-limit %s is too small: use at least 32MiB, or off", c.MemoryLimit)
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("--memory-limit %s is too large", c.MemoryLimit)
	}
	return int64(n), nil
}

// AutoMemoryLimit is the soft heap limit for a verification cache holding
// cacheSize entries: 64 MiB plus 1,200 bytes per entry (about 178 MiB at
// the default 100,000). Measured with 100,000 entries filled from 1M
// tokens, the live heap is about 100 MB; without a limit the process grew
// to 309-486 MB of resident memory (BENCHMARKS.md). `latchkey serve` starts at
// the limit of a full cache and then follows the entries the cache holds
// (server.App.FollowCacheWithMemoryLimit).
func AutoMemoryLimit(cacheSize int) int64 {
	return memoryLimitBase + int64(max(cacheSize, 0))*memoryLimitPerEntry
}
