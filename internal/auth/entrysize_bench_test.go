package auth_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
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
				cache := auth.NewCache(set.st, auth.CacheConfig{Size: n, TTL: time.Hour})
				v, u := benchChecker(cache, set.st, tracking)
				before := heapAfterGC()
				req := auth.Request{IP: "127.0.0.1", Agent: "bench"}
				for _, s := range set.secrets {
					p, err := v.Verify(context.Background(), s, req)
					if err != nil {
						b.Fatal(err)
					}
					p.Identity()
				}
				after := heapAfterGC()
				if got := cache.Len(); got < n*9/10 {
					b.Fatalf("the cache holds %d entries of %d", got, n)
				}
				b.ReportMetric(float64(after-before)/float64(cache.Len()), "bytes/entry")
				runtime.KeepAlive(v)
				runtime.KeepAlive(u)
				runtime.KeepAlive(cache)
			}
		})
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
