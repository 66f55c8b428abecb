package api_test

import (
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestBurstOfWrongLoginsDoesNotHashAllAtOnce pins the bound on password
// hashing: every login checks an argon2id hash that holds 19 MiB while it
// runs, and the failure limiter only counts a failure once its password
// was checked, so a burst of concurrent wrong logins all reach the hash.
// The heap while they run must stay far below one hash per request.
func TestBurstOfWrongLoginsDoesNotHashAllAtOnce(t *testing.T) {
	const (
		burst   = 40
		perHash = 19 << 20
	)
	s := servertest.Start(t)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := heap()

	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak = max(peak, heap())
			select {
			case <-done:
				return
			default:
				runtime.Gosched()
			}
		}
	}()

	var wg sync.WaitGroup
	statuses := make([]int, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login",
				Body: map[string]string{"username": servertest.AdminUser, "password": "not-the-password-at-all"}})
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	close(done)
	<-sampled

	for i, st := range statuses {
		if st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
			t.Fatalf("login %d answered %d, want 401 or 429", i, st)
		}
	}
	grown := int64(peak) - int64(base)
	t.Logf("heap grew by %d MiB during %d concurrent wrong logins", grown>>20, burst)
	if grown > burst/2*perHash {
		t.Fatalf("heap grew by %d MiB during %d concurrent wrong logins (%d MiB per hash): the hashes were not bounded",
			grown>>20, burst, perHash>>20)
	}
}
