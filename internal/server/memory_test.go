package server_test

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
)

func TestServeSetsTheSoftMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	origGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(orig); debug.SetGCPercent(origGC) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	const platform = 900 << 20 // what GOMEMLIMIT set at start
	for _, c := range []struct {
		name   string
		cfg    config.Serve
		env    map[string]string
		before int64
		want   int64
		// wantGC is the collector's GOGC after: -1, paced by the limit
		// alone; 100, the default kept.
		wantGC int
	}{
		{"auto from the cache size", config.Serve{MemoryLimit: "auto", CacheSize: 100_000}, nil, math.MaxInt64, config.AutoMemoryLimit(100_000), -1},
		{"auto without a cache", config.Serve{MemoryLimit: "auto", CacheSize: 0}, nil, math.MaxInt64, config.AutoMemoryLimit(0), -1},
		{"auto keeps GOGC", config.Serve{MemoryLimit: "auto", CacheSize: 100_000}, map[string]string{"GOGC": "100"}, math.MaxInt64, config.AutoMemoryLimit(100_000), 100},
		{"auto keeps GOMEMLIMIT", config.Serve{MemoryLimit: "auto", CacheSize: 100_000}, map[string]string{"GOMEMLIMIT": "900MiB"}, platform, platform, 100},
		{"a size wins over GOMEMLIMIT", config.Serve{MemoryLimit: "256MiB"}, map[string]string{"GOMEMLIMIT": "900MiB"}, platform, 256 << 20, 100},
		{"off lifts any limit", config.Serve{MemoryLimit: "off"}, map[string]string{"GOMEMLIMIT": "900MiB"}, platform, math.MaxInt64, 100},
	} {
		debug.SetMemoryLimit(c.before)
		debug.SetGCPercent(100)
		got := server.ApplyMemoryLimit(c.cfg, env(c.env), quiet)
		now := debug.SetMemoryLimit(-1)
		// Restore the collector before the next case or a failure: with
		// it off, this test process would grow to the limit just set.
		gc := debug.SetGCPercent(100)
		if got != c.want || now != c.want {
			t.Errorf("%s: ApplyMemoryLimit = %d, runtime limit %d; want %d", c.name, got, now, c.want)
		}
		if gc != c.wantGC {
			t.Errorf("%s: GOGC after ApplyMemoryLimit = %d, want %d", c.name, gc, c.wantGC)
		}
	}
}
