package server

import (
	"context"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
)

func TestTheAutoMemoryLimitFollowsWhatTheCacheHolds(t *testing.T) {
	held := 0
	var set []int64
	f := &memoryFollower{held: func() int { return held }, most: 100_000,
		set: func(l int64) int64 { set = append(set, l); return 0 }}
	step := func(n int, want int64, why string) {
		t.Helper()
		held = n
		before := len(set)
		f.follow()
		switch {
		case want == 0 && len(set) != before:
			t.Errorf("%s: %d entries set the limit to %d; want it left at %d", why, n, set[len(set)-1], f.last)
		case want != 0 && (len(set) == before || set[len(set)-1] != want):
			t.Errorf("%s: %d entries: limits set %v; want %d last", why, n, set, want)
		}
	}
	step(0, config.AutoMemoryLimit(0), "an empty cache: the base")
	step(10_000, config.AutoMemoryLimit(10_000), "the tokens in use")
	step(10_500, 0, "less than a step more")
	step(500_000, config.AutoMemoryLimit(100_000), "never above a full cache")
	step(2_000, config.AutoMemoryLimit(2_000), "down again when the cache holds less")
}

func TestServeFollowsTheCacheOnlyWhenAsked(t *testing.T) {
	var mu sync.Mutex
	var set []int64
	orig := setMemoryLimit
	setMemoryLimit = func(l int64) int64 { mu.Lock(); defer mu.Unlock(); set = append(set, l); return 0 }
	t.Cleanup(func() { setMemoryLimit = orig })
	cache := auth.NewCache(nil, auth.CacheConfig{Size: 100_000})

	for _, a := range []*App{
		{Config: config.Serve{CacheSize: 100_000}, cache: cache}, // not asked
		{Config: config.Serve{CacheSize: 0}, followMemory: true}, // no cache
	} {
		a.startMemoryFollower()
		a.Close(context.Background())
	}
	if len(set) != 0 {
		t.Fatalf("the memory limit was set to %v without a cache to follow or being asked to", set)
	}

	a := &App{Config: config.Serve{CacheSize: 100_000}, cache: cache}
	a.FollowCacheWithMemoryLimit()
	a.startMemoryFollower()
	a.Close(context.Background()) // stops following
	mu.Lock()
	defer mu.Unlock()
	if len(set) != 1 || set[0] != config.AutoMemoryLimit(0) {
		t.Fatalf("following an empty cache set %v; want the base limit %d once", set, config.AutoMemoryLimit(0))
	}
}
