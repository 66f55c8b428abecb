// Package servertest starts real Latchkey servers on loopback for tests: the
// whole App (store, services, verification, every HTTP surface) on a fresh
// SQLite file, or on a fresh PostgreSQL schema when LATCHKEY_TEST_POSTGRES_DSN
// is set. ForEachBackend runs a test against each.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/testenv"
)

// Admin credentials of the first owner of every test server.
const (
	AdminUser     = "admin"
	AdminPassword = "correct-horse-battery"
)

// PostgresDSNEnv names the variable that enables PostgreSQL test runs.
const PostgresDSNEnv = "LATCHKEY_TEST_POSTGRES_DSN"

// Server is a running test server.
type Server struct {
	URL     string
	App     *server.App
	Backend string // "sqlite" or "postgres"
	// Client checks every answer against the server's OpenAPI document
	// (openapi.go): a body that does not match fails the test at its end.
	Client *http.Client

	checker *schemaChecker
}

// Start runs a server on SQLite in t.TempDir(). args are `latchkey serve`
// flags, e.g. "--max-token-lifetime=720h".
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return start(t, "sqlite", append([]string{"--data-dir", t.TempDir()}, args...), nil)
}

// StartLogged is Start with the server's log from level Info up also kept
// in the returned Log, for tests that check what an operator would find
// there.
func StartLogged(t testing.TB, args ...string) (*Server, *Log) {
	t.Helper()
	l := &Log{}
	return start(t, "sqlite", append([]string{"--data-dir", t.TempDir()}, args...), l), l
}

// Log is a server log kept for a test; safe to read while the server writes.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is every line logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// StartPostgres runs a server on a fresh schema of the PostgreSQL at dsn.
func StartPostgres(t testing.TB, dsn string, args ...string) *Server {
	t.Helper()
	return start(t, "postgres", append([]string{"--database-url", NewPostgresSchema(t, dsn)}, args...), nil)
}

// StartReplica runs another server on the PostgreSQL schema at
// dsnWithSchema (from NewPostgresSchema), sharing its data with every other
// server started there, as replicas do.
func StartReplica(t testing.TB, dsnWithSchema string, args ...string) *Server {
	t.Helper()
	return start(t, "postgres", append([]string{"--database-url", dsnWithSchema}, args...), nil)
}

// StartReplicaLogged is StartReplica with the server's log from level
// Info up kept in the returned Log.
func StartReplicaLogged(t testing.TB, dsnWithSchema string, args ...string) (*Server, *Log) {
	t.Helper()
	l := &Log{}
	return start(t, "postgres", append([]string{"--database-url", dsnWithSchema}, args...), l), l
}

// ForEachBackend runs fn as a subtest on SQLite, and on PostgreSQL when
// LATCHKEY_TEST_POSTGRES_DSN is set (a skipped subtest says why otherwise).
func ForEachBackend(t *testing.T, fn func(t *testing.T, s *Server), args ...string) {
	t.Run("sqlite", func(t *testing.T) { fn(t, Start(t, args...)) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, StartPostgres(t, testenv.PostgresDSN(t), args...))
	})
}

func start(t testing.TB, backend string, args []string, kept *Log) *Server {
	t.Helper()
	var cfg config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Bind(fs)
	base := []string{"--listen", "127.0.0.1:0", "--admin-username", AdminUser, "--admin-password", AdminPassword,
		"--usage-flush-interval", "100ms"}
	if err := fs.Parse(append(base, args...)); err != nil {
		t.Fatalf("servertest: flags: %v", err)
	}
	if err := cfg.Resolve(fs); err != nil {
		t.Fatalf("servertest: config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if kept != nil {
		logger = slog.New(slog.NewTextHandler(io.MultiWriter(kept, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.New(ctx, cfg, logger, io.Discard, "test")
	if err != nil {
		cancel()
		t.Fatalf("servertest: start: %v", err)
	}
	if err := app.Listen(); err != nil {
		cancel()
		t.Fatalf("servertest: listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("servertest: server did not shut down within 30s")
		}
	})
	srv := &Server{URL: app.URL(), App: app, Backend: backend, checker: &schemaChecker{base: app.URL()}}
	srv.Client = &http.Client{Timeout: 30 * time.Second, Transport: srv.ValidatingTransport(nil)}
	t.Cleanup(func() { srv.checker.report(t) })
	return srv
}

// testWriter sends server logs to the test log, shown only on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Do sends a JSON request with an optional bearer token and returns the
// status and body. body may be nil, a []byte/string (sent as is) or any
// value (JSON-encoded).
func (s *Server) Do(t testing.TB, method, path, bearer string, body any) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, out, resp.Header
}

// JSON is Do that also decodes the answer into v and fails the test unless
// the status is want.
func (s *Server) JSON(t testing.TB, method, path, bearer string, body any, want int, v any) {
	t.Helper()
	status, out, _ := s.Do(t, method, path, bearer, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, want, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, out, err)
		}
	}
}

// Login returns a session token for user.
func (s *Server) Login(t testing.TB, user, password string) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	s.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": user, "password": password}, http.StatusOK, &out)
	return out.Token
}

// AdminSession logs the first owner in.
func (s *Server) AdminSession(t testing.TB) string { return s.Login(t, AdminUser, AdminPassword) }

// CreatedToken is the answer to POST /api/v1/tokens.
type CreatedToken struct {
	Token  map[string]any `json:"token"`
	Secret string         `json:"secret"`
}

// ID is the created token's id.
func (c CreatedToken) ID() string { s, _ := c.Token["id"].(string); return s }

// CreateToken creates a token with bearer and fails the test unless 201.
func (s *Server) CreateToken(t testing.TB, bearer string, req map[string]any) CreatedToken {
	t.Helper()
	var out CreatedToken
	s.JSON(t, http.MethodPost, "/api/v1/tokens", bearer, req, http.StatusCreated, &out)
	return out
}

// CreateUser creates a user with an admin's bearer and returns its id.
func (s *Server) CreateUser(t testing.TB, bearer, username, password, role, kind string) string {
	t.Helper()
	body := map[string]any{"username": username, "role": role, "kind": kind}
	if password != "" {
		body["password"] = password
	}
	var out struct {
		ID string `json:"id"`
	}
	s.JSON(t, http.MethodPost, "/api/v1/users", bearer, body, http.StatusCreated, &out)
	return out.ID
}
