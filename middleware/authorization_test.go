package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/middleware"
)

// TestTwoAuthorizationHeadersAreRefused: a request with two Authorization
// headers names two callers; the middleware refuses it (as Latchkey does)
// rather than letting the first one in while the handler or a framework
// below may read the other.
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	is := newIssuer(t)
	k := newKey(t, "k1", jose.ES256)
	is.publish(k)
	now := time.Now()
	h := middleware.New(middleware.Options{Issuer: is.srv.URL, Audience: "inventory", Now: func() time.Time { return now }})(echo)
	good := sign(t, k, "at+jwt", is.valid(now))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, n := range []int{1, 2} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/items", nil)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			req.Header.Add("Authorization", "Bearer "+good)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want := http.StatusOK
		if n == 2 {
			want = http.StatusUnauthorized
		}
		if resp.StatusCode != want {
			t.Errorf("%d Authorization header(s): %d, want %d", n, resp.StatusCode, want)
		}
	}
}
