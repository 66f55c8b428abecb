package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// outages remembers the last write the storage refused for a reason a ping
// cannot see, because a ping reads: a full disk, or a database file that
// cannot be written. Readiness reports it until a write succeeds again
// (ready's probe), not for a fixed time: an operator who frees space sees
// the server ready at the next probe, and a disk still full keeps it out.
type outages struct {
	mu  sync.Mutex
	err error
}

// record remembers err when it is such a refusal.
func (o *outages) record(err error) {
	if !writeRefused(err) {
		return
	}
	o.mu.Lock()
	o.err = err
	o.mu.Unlock()
}

// writeRefused reports whether err is a write the storage refused for a
// reason that lasts until an operator acts.
func writeRefused(err error) bool {
	return errors.Is(err, store.ErrDiskFull) || errors.Is(err, store.ErrReadOnly) || errors.Is(err, store.ErrNoWrites)
}

// last returns the refusal remembered, or nil.
func (o *outages) last() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// clear forgets the refusal seen, unless another was recorded since.
func (o *outages) clear(seen error) {
	o.mu.Lock()
	if o.err == seen {
		o.err = nil
	}
	o.mu.Unlock()
}

// ready reports why the server cannot serve: the database does not answer,
// or a write was refused for a full disk or a read-only file and a probe
// write still is.
func (a *App) ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return err
	}
	refused := a.outages.last()
	if refused == nil {
		return nil
	}
	err := probeWrite(ctx, a.Store)
	switch {
	case err == nil:
		a.outages.clear(refused)
		return nil
	case writeRefused(err):
		a.outages.record(err)
		return err
	}
	// The probe failed otherwise (the database went away meanwhile): say
	// so, and keep the refusal for the next probe.
	return err
}

// probeSize is how much a probe write stores: more than a database page
// (SQLite's are 4 KiB), so that it needs space a full disk or database
// does not have, as the writes it refused did.
const probeSize = 8 << 10

// probeWrite stores probeSize bytes and removes them again in one
// committed transaction, which leaves nothing behind and needs the space
// (a rolled-back write would prove nothing: SQLite may never take it to
// the disk): nil when the storage accepts writes again. It uses a signing key row
// under an id no key has, which no reader sees (it is gone at the commit).
func probeWrite(ctx context.Context, st store.Store) error {
	filler := make([]byte, probeSize)
	_, _ = rand.Read(filler) // incompressible: PostgreSQL would compress zeros to nothing
	id := "readyz-probe-" + rand.Text()
	return st.Atomically(ctx, func(ctx context.Context) error {
		k := &store.SigningKey{ID: id, Algorithm: "probe", PublicJWK: filler, PrivateEnc: []byte{}, CreatedAt: time.Now()}
		if err := st.CreateSigningKey(ctx, k); err != nil {
			return fmt.Errorf("readiness probe write: %w", err)
		}
		if err := st.DeleteSigningKey(ctx, id); err != nil {
			return fmt.Errorf("readiness probe write: %w", err)
		}
		return nil
	})
}
