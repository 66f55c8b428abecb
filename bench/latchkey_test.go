package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeServer writes an executable script standing in for a latchkey binary.
func fakeServer(t *testing.T, script string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latchkey")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestAServerThatExitsAtOnceStopsTheHarnessWithItsWords runs the harness's
// server start on a "binary" that exits 1 at once with a message, as a
// latchkey older than the schema the harness seeded does. The harness must
// stop with an error that quotes what the server said, not wait for ever.
func TestAServerThatExitsAtOnceStopsTheHarnessWithItsWords(t *testing.T) {
	const words = "the database schema is newer than this release of latchkey"
	bin := fakeServer(t, "echo 'starting' ; echo 'latchkey: open store: "+words+"' >&2\nexit 1\n")
	dir := t.TempDir()
	errc := make(chan error, 1)
	go func() {
		s, err := startServer(context.Background(), bin, dir, "", &dataset{dataDir: filepath.Join(dir, "data")})
		if s != nil {
			s.stop()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), words) || !strings.Contains(err.Error(), "exited before it was ready") {
			t.Errorf("startServer: %v; want an error saying latchkey exited before it was ready, quoting %q", err, words)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the harness is still waiting for a server that exited")
	}
}

// TestAServerThatExitsDuringARunEndsTheRun starts a "binary" that answers
// ready and then exits: the run's context ends and the error quotes the
// server's last words.
func TestAServerThatExitsDuringARunEndsTheRun(t *testing.T) {
	const words = "fatal: lost the data directory"
	// Serves 200 on the --listen port (the argument after --listen) until
	// a file appears, then exits 1 with words.
	stop := filepath.Join(t.TempDir(), "stop")
	bin := fakeServer(t, `exec python3 - "$@" <<'PY'
import http.server, os, sys, threading
addr = sys.argv[sys.argv.index("--listen") + 1].rsplit(":", 1)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ready\n")
    def log_message(self, *a): pass
srv = http.server.HTTPServer((addr[0], int(addr[1])), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
import time
while not os.path.exists(`+"'"+stop+"'"+`): time.sleep(0.05)
print("`+words+`", file=sys.stderr)
sys.exit(1)
PY
`)
	dir := t.TempDir()
	s, err := startServer(context.Background(), bin, dir, "", &dataset{dataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	if err := s.gone(); err != nil {
		t.Fatalf("gone while running: %v", err)
	}
	ctx, cancel := s.watch(context.Background())
	defer cancel()
	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("the run's context did not end when the server exited")
	}
	if err := s.gone(); err == nil || !strings.Contains(err.Error(), words) || !strings.Contains(err.Error(), "exited during the run") {
		t.Errorf("gone after exit: %v; want the server's last words %q", err, words)
	}
}
