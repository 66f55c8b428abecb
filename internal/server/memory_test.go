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
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
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
	}{
		{"auto from the cache size", config.Serve{MemoryLimit: "auto", CacheSize: 100_000}, nil, math.MaxInt64, config.AutoMemoryLimit(100_000)},
		{"auto keeps GOMEMLIMIT", config.Serve{MemoryLimit: "auto", CacheSize: 100_000}, map[string]string{"GOMEMLIMIT": "900MiB"}, platform, platform},
		{"a size wins over GOMEMLIMIT", config.Serve{MemoryLimit: "256MiB"}, map[string]string{"GOMEMLIMIT": "900MiB"}, platform, 256 << 20},
		{"off lifts any limit", config.Serve{MemoryLimit: "off"}, map[string]string{"GOMEMLIMIT": "900MiB"}, platform, math.MaxInt64},
	} {
		debug.SetMemoryLimit(c.before)
		got := server.ApplyMemoryLimit(c.cfg, env(c.env), quiet)
		if now := debug.SetMemoryLimit(-1); got != c.want || now != c.want {
			t.Errorf("%s: ApplyMemoryLimit = %d, runtime limit %d; want %d", c.name, got, now, c.want)
		}
	}
}
