package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Call is one request a Receiver got.
type Call struct {
	Header http.Header
	Body   []byte
	// Signed is true when X-Latchkey-Signature is "sha256=" and the hex
	// HMAC-SHA256 of Body under the receiver's secret, computed here
	// independently of the package under test.
	Signed bool
}

// Decode unmarshals the call's JSON body into v, failing t otherwise.
func (c Call) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(c.Body, v); err != nil {
		t.Fatalf("webhook body %s: %v", c.Body, err)
	}
}

// Receiver is a webhook endpoint on loopback that answers with the given
// statuses in order (the last one repeats), after an optional delay.
type Receiver struct {
	URL string

	srv      *httptest.Server
	secret   []byte
	mu       sync.Mutex
	calls    []Call
	statuses []int
	delay    time.Duration
	arrived  chan Call
}

// StartReceiver starts a receiver that checks signatures with secret and
// answers statuses (default 204); it stops when t ends.
func StartReceiver(t testing.TB, secret string, statuses ...int) *Receiver {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []int{http.StatusNoContent}
	}
	r := &Receiver{secret: []byte(secret), statuses: statuses, arrived: make(chan Call, 64)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

// SetDelay makes the receiver wait d before answering.
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	m := hmac.New(sha256.New, r.secret)
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	c := Call{Header: req.Header.Clone(), Body: body, Signed: hmac.Equal([]byte(req.Header.Get("X-Latchkey-Signature")), []byte(want))}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	status := r.statuses[min(len(r.calls), len(r.statuses))-1]
	delay := r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(status)
	select {
	case r.arrived <- c:
	default:
	}
}

// Calls returns every request received so far.
func (r *Receiver) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Count is how many requests were received so far.
func (r *Receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// Next waits for the next answered request.
func (r *Receiver) Next(t testing.TB) Call {
	t.Helper()
	select {
	case c := <-r.arrived:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook call arrived within 10s")
		return Call{}
	}
}

// None fails t if a request arrives within wait.
func (r *Receiver) None(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case c := <-r.arrived:
		t.Fatalf("unexpected webhook call: %s", c.Body)
	case <-time.After(wait):
	}
}
