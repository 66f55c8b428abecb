package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestSecondServeOnTheSameDataDirectoryIsRefused starts `latchkey serve`,
// in a process of its own, on the data directory of a server that is
// running. SQLite tells no other process about a revocation, so a second
// server there would accept a token the first revoked for as long as its
// cache holds it: the second start must fail at once, exit 1 with one line
// saying which process has the directory, and leave the first serving.
// Commands that only open the database (migrate status) keep working
// beside it.
func TestSecondServeOnTheSameDataDirectoryIsRefused(t *testing.T) {
	limit, gc := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetMemoryLimit(limit); debug.SetGCPercent(gc) })
	bin, err := exec.LookPath("latchkey") // this test binary, as the CLI (TestMain)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := servertest.Start(t, "--data-dir", dir)
	admin := first.AdminSession(t)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("a second `latchkey serve` on the data directory of a running server started serving:\n%s", stdout.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("second serve: %v; want exit status 1", err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(l, "{") { // the JSON log lines before it
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "is in use by another latchkey serve (pid ") || !strings.Contains(lines[0], "PostgreSQL") {
		t.Errorf("stderr does not say in one line that the data directory is in use, by which process, and what to do:\n%s", stderr.String())
	}
	if strings.Contains(stdout.String(), "Latchkey is running") {
		t.Errorf("the refused start printed the banner:\n%s", stdout.String())
	}
	first.JSON(t, http.MethodGet, "/api/v1/me", admin, nil, http.StatusOK, nil)

	var out, errOut bytes.Buffer
	if code := run([]string{"migrate", "status", "--data-dir", dir}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Errorf("migrate status beside a running server: exit %d, %s", code, errOut.String())
	}
}
