package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// lockedBuffer is a banner destination shared with a serving goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestReplicasStartingTogetherCreateOneOwner starts three replicas at the
// same moment on one empty PostgreSQL schema with no admin password, as a
// first deployment of three pods does: all three serve, exactly one owner
// exists, and exactly one replica printed its (generated) password, which
// logs in on every replica.
func TestReplicasStartingTogetherCreateOneOwner(t *testing.T) {
	dsn := servertest.NewPostgresSchema(t, testenv.PostgresDSN(t))
	const n = 3
	apps := make([]*server.App, n)
	outs := make([]*lockedBuffer, n)
	errs := make([]error, n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		outs[i] = &lockedBuffer{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg, err := serveConfig("--database-url", dsn, "--listen", "127.0.0.1:0", "--signing-key-secret", "first-start-test-secret")
			if err != nil {
				errs[i] = err
				return
			}
			<-start
			app, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), outs[i], "test")
			if err == nil {
				err = app.Listen()
			}
			apps[i], errs[i] = app, err
		}()
	}
	close(start)
	wg.Wait()
	done := make(chan error, n)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d failed to start: %v", i, err)
		}
		go func() { done <- apps[i].Serve(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range n {
			<-done
		}
	})

	var password string
	printed := 0
	deadline := time.Now().Add(10 * time.Second)
	for i := range n {
		for !strings.Contains(outs[i].String(), "Latchkey is running") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		out := outs[i].String()
		if _, pw, ok := strings.Cut(out, "password: "); ok {
			printed++
			password, _, _ = strings.Cut(pw, "\n")
		}
	}
	if printed != 1 {
		t.Fatalf("%d replicas printed a first owner's password; want exactly 1", printed)
	}
	users, err := apps[0].Store.CountUsers(ctx)
	if err != nil || users != 1 {
		t.Fatalf("users after three first starts: %d (%v); want 1", users, err)
	}
	for i, app := range apps {
		s := &servertest.Server{URL: app.URL(), App: app, Client: &http.Client{Timeout: 10 * time.Second}}
		s.Login(t, "admin", password)
		if st, _, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusOK {
			t.Errorf("replica %d not ready: %d", i, st)
		}
	}
}

func serveConfig(args ...string) (config.Serve, error) {
	var cfg config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	return cfg, cfg.Resolve(fs)
}

// TestAnAdminPasswordMeetingAnExistingOwnerIsWarnedAbout starts twice on
// one data directory with an admin password: the first start creates the
// owner with it and says so without printing it (the operator has it, and
// the output often lands in a log); the second ignores it and says so in
// the log.
func TestAnAdminPasswordMeetingAnExistingOwnerIsWarnedAbout(t *testing.T) {
	dir := t.TempDir()
	for i, wantWarning := range []bool{false, true} {
		cfg, err := serveConfig("--data-dir", dir, "--listen", "127.0.0.1:0", "--admin-password", "first-owner-password")
		if err != nil {
			t.Fatal(err)
		}
		var logs, out lockedBuffer
		app, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), &out, "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Listen(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- app.Serve(ctx) }()
		for !strings.Contains(out.String(), "Latchkey is running") {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		warned := strings.Contains(logs.String(), "an admin password was given but an owner already exists")
		created := strings.Contains(out.String(), "created the owner account") && strings.Contains(out.String(), "password: the one you gave")
		leaked := strings.Contains(out.String()+logs.String(), "first-owner-password")
		if warned != wantWarning || created == wantWarning || leaked {
			t.Errorf("start %d: warned %v, said it created the owner %v, printed the password %v; want warned %v, created %v, never printed\nout: %s\nlog: %s",
				i+1, warned, created, leaked, wantWarning, !wantWarning, out.String(), logs.String())
		}
	}
}
