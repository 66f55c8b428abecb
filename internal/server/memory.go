package server

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/config"
)

// ApplyMemoryLimit gives the Go runtime the soft heap limit cfg's
// --memory-limit asks for, and logs it. "auto" defers to $GOMEMLIMIT when
// the environment sets it (getenv reads the environment), so a limit set
// by the platform (the Helm chart derives it from the container's memory
// limit) is kept; an explicit size or "off" wins over it. It returns the
// limit in force (math.MaxInt64: none). For "auto" that is the limit of a
// full verification cache; FollowCacheWithMemoryLimit keeps it at what
// the cache holds. It changes the whole process: call it once, from the
// command that serves.
//
// Under the auto limit the collector runs when the heap reaches the limit,
// not also each time it doubles what is live (GOGC=100, Go's default),
// unless $GOGC is set: the auto limit is sized from what a server holds
// (its base and its cache), so it already is the pacing a server needs, and
// a collection at every doubling of a small live heap cost cached
// verification and introspection 3-25% of their CPU per request; pacing by
// the limit costs ~20 MB more resident memory while they run (BENCHMARKS.md,
// 2 December 21:00-23:30). A live heap past the limit makes the
// collector run as often with either pacing (at most half the CPU).
func ApplyMemoryLimit(cfg config.Serve, getenv func(string) string, logger *slog.Logger) int64 {
	limit, err := cfg.MemoryLimitBytes()
	if err != nil { // Resolve refused it already; keep the runtime's
		return debug.SetMemoryLimit(-1)
	}
	auto := isAuto(cfg)
	if auto && getenv("GOMEMLIMIT") != "" {
		limit = debug.SetMemoryLimit(-1) // the runtime read it at start
		logger.Info("memory limit", "bytes", limit, "from", "GOMEMLIMIT")
		return limit
	}
	if limit == 0 {
		debug.SetMemoryLimit(math.MaxInt64)
		logger.Info("memory limit off")
		return math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
	if !auto {
		logger.Info("memory limit", "bytes", limit, "from", "--memory-limit")
		return limit
	}
	pacing := "the memory limit"
	if getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	} else {
		pacing = "GOGC and the memory limit"
	}
	logger.Info("memory limit", "bytes", limit,
		"from", "auto: 64MiB + 1,200 bytes per entry the verification cache holds, up to --cache-size entries",
		"collector_paced_by", pacing)
	return limit
}

// AutoMemoryLimitApplies reports whether ApplyMemoryLimit gives cfg the
// auto limit: --memory-limit auto, and no $GOMEMLIMIT.
func AutoMemoryLimitApplies(cfg config.Serve, getenv func(string) string) bool {
	return isAuto(cfg) && getenv("GOMEMLIMIT") == ""
}

func isAuto(cfg config.Serve) bool {
	v := strings.TrimSpace(cfg.MemoryLimit)
	return v == "" || strings.EqualFold(v, "auto")
}

// FollowCacheWithMemoryLimit makes Serve keep the auto memory limit at
// config.AutoMemoryLimit of the entries the verification cache holds,
// rather than of the --cache-size entries it may hold, checked every
// memoryFollowEvery until shutdown. A cache sized for 100,000 entries that
// holds the 10,000 tokens in use otherwise leaves the collector ~90 MB of
// room it never needs, which it fills with garbage not yet collected and
// memory not yet returned: the harness's api-me scenario (1M tokens,
// 10,000 in use) reached 171 MB over ten minutes with the limit of a full
// cache, and 146 MB with the limit of the entries held. Call it before Serve,
// only when AutoMemoryLimitApplies, and only from the command that serves:
// the limit is the whole process's.
func (a *App) FollowCacheWithMemoryLimit() { a.followMemory = true }

// setMemoryLimit is debug.SetMemoryLimit; a test replaces it, so as not to
// limit the memory of the test process.
var setMemoryLimit = debug.SetMemoryLimit

// memoryFollowEvery is how often the auto memory limit follows the cache;
// memoryFollowStep is the least change it makes (about 1,000 entries).
const (
	memoryFollowEvery = time.Second
	memoryFollowStep  = 1 << 20
)

// startMemoryFollower starts following the cache, when asked to and there
// is a cache, until Close.
func (a *App) startMemoryFollower() {
	if !a.followMemory || a.cache == nil {
		return
	}
	f := &memoryFollower{held: a.cache.Len, most: a.Config.CacheSize, set: setMemoryLimit}
	f.follow()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.run(ctx, memoryFollowEvery)
	}()
	a.closers = append(a.closers, func(context.Context) { cancel(); <-done })
}

// memoryFollower sets the memory limit for the entries a cache holds.
type memoryFollower struct {
	held func() int        // entries the cache holds now
	most int               // entries it may hold (--cache-size)
	set  func(int64) int64 // debug.SetMemoryLimit
	last int64             // the limit it set last; 0: none yet
}

// follow sets the limit for the entries held now, unless it is within
// memoryFollowStep of the one set last.
func (f *memoryFollower) follow() {
	limit := config.AutoMemoryLimit(min(max(f.held(), 0), f.most))
	if f.last != 0 && limit > f.last-memoryFollowStep && limit < f.last+memoryFollowStep {
		return
	}
	f.set(limit)
	f.last = limit
}

// run follows every interval until ctx ends.
func (f *memoryFollower) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.follow()
		}
	}
}
