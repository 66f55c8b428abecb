package auth_test

import (
	"context"
	"testing"
)

// BenchmarkVerifyUncachedRequestContext is BenchmarkVerifyUncached/1k
// with a cancellable context, as an HTTP request's is: what the
// verification read costs on the server.
func BenchmarkVerifyUncachedRequestContext(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	verifyUncached(b, seededStore(b, 1_000), ctx)
}
