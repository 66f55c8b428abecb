package auth

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// UsageWriter stores a batch of aggregated token uses.
type UsageWriter interface {
	RecordTokenUse(ctx context.Context, uses []store.TokenUse) error
}

// Usage aggregates last-used time, address, agent and per-day request counts
// in memory and flushes them in one batched write every interval, so that
// verification never waits on the database. Memory is bounded: past
// maxTokens distinct tokens between flushes, further tokens' uses are
// dropped (and counted) until the next flush.
type Usage struct {
	w         UsageWriter
	audit     *service.Audit
	logger    *slog.Logger
	interval  time.Duration
	maxTokens int

	mu      sync.Mutex
	pending map[string]*store.TokenUse
	dropped int64
	// announced remembers token/IP pairs already reported as new, so a burst
	// of requests from a new address yields one audit event.
	announced map[string]struct{}

	stop    chan struct{}
	done    chan struct{}
	started sync.Once
	stopped sync.Once
	running bool
}

// NewUsage returns a recorder; call Run to start flushing.
func NewUsage(w UsageWriter, audit *service.Audit, interval time.Duration, logger *slog.Logger) *Usage {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Usage{
		w: w, audit: audit, logger: logger, interval: interval, maxTokens: 200_000,
		pending: map[string]*store.TokenUse{}, announced: map[string]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// maxRecentIPs is how many distinct addresses a token remembers.
const maxRecentIPs = 5

// Record notes one use of t. It only touches memory.
func (u *Usage) Record(t *store.Token, at time.Time, ip, agent string) {
	day := at.UTC().Format(time.DateOnly)
	newIP := ip != "" && len(t.RecentIPs) > 0 && !slices.Contains(t.RecentIPs, ip)
	u.mu.Lock()
	use, ok := u.pending[t.ID]
	if !ok {
		if len(u.pending) >= u.maxTokens {
			u.dropped++
			u.mu.Unlock()
			return
		}
		use = &store.TokenUse{TokenID: t.ID, Counts: map[string]int64{}}
		u.pending[t.ID] = use
	}
	if at.After(use.At) {
		use.At, use.IP, use.Agent = at, ip, agent
	}
	use.Counts[day]++
	if ip != "" && !slices.Contains(use.IPs, ip) && len(use.IPs) < maxRecentIPs {
		use.IPs = append([]string{ip}, use.IPs...)
	}
	announce := false
	if newIP {
		key := t.ID + "|" + ip
		if _, seen := u.announced[key]; !seen {
			if len(u.announced) > 100_000 {
				clear(u.announced)
			}
			u.announced[key], announce = struct{}{}, true
		}
	}
	u.mu.Unlock()
	if announce && u.audit != nil {
		u.audit.Record(context.Background(), service.Actor{IP: ip, Agent: agent}, "token.new_ip", "token", t.ID,
			map[string]any{"name": t.Name, "ip": ip, "user_id": t.UserID})
	}
}

// Run flushes every interval until Close.
func (u *Usage) Run() {
	u.started.Do(func() {
		u.mu.Lock()
		u.running = true
		u.mu.Unlock()
		u.loop()
	})
}

func (u *Usage) loop() {
	defer close(u.done)
	tick := time.NewTicker(u.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			u.Flush(context.Background())
		case <-u.stop:
			return
		}
	}
}

// Flush writes what has been aggregated so far in one batch.
func (u *Usage) Flush(ctx context.Context) {
	u.mu.Lock()
	if len(u.pending) == 0 {
		u.mu.Unlock()
		return
	}
	batch := make([]store.TokenUse, 0, len(u.pending))
	for _, use := range u.pending {
		batch = append(batch, *use)
	}
	u.pending = make(map[string]*store.TokenUse, len(batch))
	dropped := u.dropped
	u.dropped = 0
	u.mu.Unlock()
	if dropped > 0 {
		u.logger.Warn("usage tracking dropped uses over its memory bound", "dropped", dropped)
	}
	if err := u.w.RecordTokenUse(ctx, batch); err != nil {
		u.logger.Error("flush token usage", "tokens", len(batch), "err", err)
	}
}

// Close stops the flusher and writes what is left.
func (u *Usage) Close(ctx context.Context) {
	u.stopped.Do(func() {
		close(u.stop)
		u.mu.Lock()
		running := u.running
		u.mu.Unlock()
		if running {
			<-u.done
		}
	})
	u.Flush(ctx)
}
