package auth_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
)

// BenchmarkCacheEntryBytes measures what one cached verification keeps on
// the Go heap, as the forward-auth answer leaves it (the identity headers
// built): the heap after a collection, with the cache full, less the heap
// before, per entry. The automatic memory limit allows a fixed number of
// bytes per entry the cache holds (serve's --memory-limit auto); what it
// allows beyond this is the collector's room to work in, and without that
// room it collects without pause (the verify-cold scenario). With
// tracking, each entry's token also has a usage cell, as every token used
// in the last two flush intervals does.
//
//	go test -run '^$' -bench CacheEntryBytes -benchtime 1x ./internal/auth
func BenchmarkCacheEntryBytes(b *testing.B) {
	const n = 100_000
	set := seededStore(b, n)
	for _, tracking := range []bool{false, true} {
		name := map[bool]string{true: "tracking", false: "no-tracking"}[tracking]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				bytes, objects := cacheEntryBytes(b, set, tracking)
				b.ReportMetric(bytes, "bytes/entry")
				b.ReportMetric(objects, "objects/entry")
			}
		})
	}
}

// The auto memory limit must cover what a cache entry holds, with room to
// spare: on 2 December an entry held 1,218 bytes against an allowance of
// 1,000, and a full cache made the collector run without pause (half of
// the CPU of verify-cold). An entry that grows past the allowance, less a
// tenth for the collector, fails here rather than in a load test.
func TestTheAutoMemoryLimitCoversACacheEntry(t *testing.T) {
	set, err := seed(t.TempDir(), 20_000)
	if err != nil {
		t.Fatal(err)
	}
	defer set.st.Close()
	// What else the process allocates meanwhile can only add to the
	// figure: the smaller of two measurements is the nearer.
	first, firstObjects := cacheEntryBytes(t, set, false)
	second, secondObjects := cacheEntryBytes(t, set, false)
	per, objects := min(first, second), min(firstObjects, secondObjects)
	allowance := config.AutoMemoryLimit(1) - config.AutoMemoryLimit(0)
	t.Logf("a cache entry holds %.0f bytes in %.1f objects; the auto limit allows %d bytes", per, objects, allowance)
	// The collector marks every object of every entry on each cycle: an
	// entry was nine objects until the verification read gave a token's
	// text values one string, and its row, digest and expiry one
	// allocation (2 December); it is five.
	if objects > maxEntryObjects+0.5 { // less what else the process allocates meanwhile
		t.Errorf("a cache entry holds %.1f heap objects, more than %d: the collector marks each on every cycle "+
			"(keep a cached token in few allocations, as the SQLite verification read does)", objects, maxEntryObjects)
	}
	if per*1.1 > float64(allowance) {
		t.Fatalf("a cache entry holds %.0f bytes and the auto memory limit allows %d per entry: "+
			"leave the collector a tenth more (config.memoryLimitPerEntry) or make the entry smaller", per, allowance)
	}
}

// maxEntryObjects is how many heap objects a cached token may hold (the
// store's read, without usage tracking).
const maxEntryObjects = 5

// cacheEntryBytes fills a cache with set's tokens, verified as forward-auth
// verifies them, and returns the heap bytes and objects it holds per
// entry: the objects are what the collector marks on each cycle.
func cacheEntryBytes(tb testing.TB, set *benchSet, tracking bool) (bytes, objects float64) {
	tb.Helper()
	cache := auth.NewCache(set.st, auth.CacheConfig{Size: len(set.secrets), TTL: time.Hour})
	v, u := benchChecker(cache, set.st, tracking)
	before, beforeObjects := heapAfterGC()
	req := auth.Request{IP: "127.0.0.1", Agent: "bench"}
	for _, s := range set.secrets {
		p, err := v.Verify(context.Background(), s, req)
		if err != nil {
			tb.Fatal(err)
		}
		p.Identity()
	}
	after, afterObjects := heapAfterGC()
	if got := cache.Len(); got < len(set.secrets)*9/10 {
		tb.Fatalf("the cache holds %d entries of %d", got, len(set.secrets))
	}
	n := float64(cache.Len())
	bytes, objects = float64(int64(after-before))/n, float64(int64(afterObjects-beforeObjects))/n
	runtime.KeepAlive(v)
	runtime.KeepAlive(u)
	runtime.KeepAlive(cache)
	return bytes, objects
}

func heapAfterGC() (bytes, objects uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.HeapObjects
}
