package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// formHandler answers 400 when the form body cannot be read, else 200
// (once the context has outlived the body deadline, when asked to wait).
func formHandler(wait time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(wait)
		if r.Context().Err() != nil {
			http.Error(w, "context ended", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// TestBodyThatNeverFinishesDoesNotHoldTheConnection pins the body
// deadline: a client that announces a body and stops sending it gets an
// answer and a closed connection, instead of holding both forever.
func TestBodyThatNeverFinishesDoesNotHoldTheConnection(t *testing.T) {
	srv := httptest.NewServer(withBodyDeadline(formHandler(0), 100*time.Millisecond))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nusername=a"); err != nil {
		t.Fatal(err)
	}
	// Only so a regression fails instead of hanging the test run.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the server never answered a body that stopped halfway: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}

// TestBodyDeadlineEndsWithTheBody pins that the deadline is lifted once
// the body is in (net/http does it before its background read, which
// would otherwise fail and cancel the context): a handler still working
// after the deadline keeps its context.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	const limit = 50 * time.Millisecond
	srv := httptest.NewServer(withBodyDeadline(formHandler(6*limit), limit))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/login", "application/x-www-form-urlencoded", stringsReader("username=a&password=b"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200: the context ended after the body was read", resp.StatusCode)
	}
}

func stringsReader(s string) io.Reader { return &stringReader{s: s} }

// stringReader hides its length, so the request is sent chunked, a body
// the server learns the end of only by reading it.
type stringReader struct{ s string }

func (r *stringReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}
