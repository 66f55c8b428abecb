package auth_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
)

// BenchmarkVerifyUncachedRequestContext is BenchmarkVerifyUncached/1k
// with a cancellable context, as an HTTP request's is: what the
// verification read costs on the server.
func BenchmarkVerifyUncachedRequestContext(b *testing.B) {
	set := seededStore(b, 1_000)
	v, _ := benchChecker(set.st, set.st, true)
	order := rand.Perm(len(set.secrets))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := auth.Request{IP: "127.0.0.1", Agent: "bench"}
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		if _, err := v.Verify(ctx, set.secrets[order[i%len(order)]], req); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
