package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// TestAStopCutOffByASlowRequestStillFlushesUsage stops a server (as SIGTERM
// does) while a client is still sending a request body, slower than the
// shutdown grace. The request is cut off when the grace ends, and then the
// stop is still the graceful one the docs promise: Serve returns no error
// (the process exits 0), and the usage held in memory (the flush interval
// is an hour, so only the last flush can write it) is in the database.
func TestAStopCutOffByASlowRequestStillFlushesUsage(t *testing.T) {
	var cfg config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Bind(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--admin-password", "correct-horse-battery",
		"--usage-flush-interval", "1h"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Resolve(fs); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	a, err := New(ctx, cfg, logger, io.Discard, "test")
	if err != nil {
		t.Fatal(err)
	}
	a.shutdownGrace = 500 * time.Millisecond
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()

	var login struct{ Token string }
	call(t, a.URL(), http.MethodPost, "/api/v1/auth/login", "", `{"username":"admin","password":"correct-horse-battery"}`, http.StatusOK, &login)
	var created struct {
		Token  struct{ ID string }
		Secret string
	}
	call(t, a.URL(), http.MethodPost, "/api/v1/tokens", login.Token, `{"name":"used","scopes":["repo:read"]}`, http.StatusCreated, &created)
	secret := created.Secret
	call(t, a.URL(), http.MethodGet, "/api/v1/me", secret, "", http.StatusOK, nil)

	// A request whose body never finishes arriving.
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\":", secret)
	time.Sleep(200 * time.Millisecond) // the server is reading its body

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after a stop cut off a slow request; want nil (exit 0)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
	// Serve closed the store: read what the last flush wrote.
	st, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.GetToken(context.Background(), created.Token.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil {
		t.Errorf("the token's use before the stop was not written by the last flush: last_used_at is null")
	}
}

func call(t *testing.T, base, method, path, bearer, body string, want int, v any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s; want %d", method, path, resp.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
}
