package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// diskFullFor is how long after a write refused for lack of space the
// server reports itself not ready: a ping reads, so it cannot see a full
// disk, but the last refused write can.
const diskFullFor = 30 * time.Second

// outages remembers the last write the storage refused for lack of space.
type outages struct {
	mu       sync.Mutex
	diskFull time.Time
	err      error
}

func (o *outages) record(err error) {
	if !errors.Is(err, store.ErrDiskFull) {
		return
	}
	o.mu.Lock()
	o.diskFull, o.err = time.Now(), err
	o.mu.Unlock()
}

func (o *outages) recentDiskFull() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil && time.Since(o.diskFull) < diskFullFor {
		return o.err
	}
	return nil
}

// ready reports why the server cannot serve: the database does not answer,
// or a write was refused for a full disk in the last diskFullFor.
func (a *App) ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return err
	}
	return a.outages.recentDiskFull()
}
