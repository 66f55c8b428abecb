package server

import (
	"log/slog"
	"math"
	"runtime/debug"
	"strings"

	"github.com/latchkey/latchkey/internal/config"
)

// ApplyMemoryLimit gives the Go runtime the soft heap limit cfg's
// --memory-limit asks for, and logs it. "auto" defers to $GOMEMLIMIT when
// the environment sets it (getenv reads the environment), so a limit set
// by the platform (the Helm chart derives it from the container's memory
// limit) is kept; an explicit size or "off" wins over it. It returns the
// limit in force (math.MaxInt64: none). It changes the whole process:
// call it once, from the command that serves.
func ApplyMemoryLimit(cfg config.Serve, getenv func(string) string, logger *slog.Logger) int64 {
	limit, err := cfg.MemoryLimitBytes()
	if err != nil { // Resolve refused it already; keep the runtime's
		return debug.SetMemoryLimit(-1)
	}
	auto := strings.EqualFold(strings.TrimSpace(cfg.MemoryLimit), "auto") || strings.TrimSpace(cfg.MemoryLimit) == ""
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
	from := "--memory-limit"
	if auto {
		from = "auto: 64MiB + 1,000 bytes per --cache-size entry"
	}
	logger.Info("memory limit", "bytes", limit, "from", from)
	return limit
}
