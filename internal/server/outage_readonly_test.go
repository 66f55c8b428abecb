package server_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAnImmutableSQLiteFileSaysItIsReadOnly: an operator (or a backup
// tool, or a security agent) made the database files immutable while the
// server runs (`chattr +i`). Writes then fail for the file, not for the
// network: the answer is 503 saying the database file is read-only and
// what to check, never that the database is unreachable; /readyz, asked
// after the refusal, says the same, until the files are writable again.
func TestAnImmutableSQLiteFileSaysItIsReadOnly(t *testing.T) {
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("needs chattr (e2fsprogs) to make the database file immutable")
	}
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	s.CreateToken(t, admin, map[string]any{"name": "before", "scopes": []string{"repo:read"}})

	db := filepath.Join(s.App.Config.DataDir, "latchkey.db")
	var files []string
	// Not the -shm file: SQLite maps it into memory, and a store into a
	// mapped page of a file made immutable meanwhile faults (SIGBUS) and
	// kills the process, server and test alike. The database file and its
	// WAL are what a write needs.
	for _, f := range []string{db, db + "-wal"} {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if out, err := exec.Command(chattr, append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("cannot make the database file immutable here (needs root and a file system with the immutable attribute, such as ext4): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(chattr, append([]string{"-i"}, files...)...).Run() })

	st, body, h := s.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "after", "scopes": []string{"repo:read"}})
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("create on an immutable database file: %d %s (Retry-After %q); want 503 problem+json with Retry-After", st, body, h.Get("Retry-After"))
	}
	if b := string(body); strings.Contains(b, "unreachable") || !strings.Contains(b, "the database file is read-only") {
		t.Errorf("create on an immutable database file says %s; want it to say the database file is read-only, not unreachable", b)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(body), "the database file is read-only") {
		t.Errorf("/readyz after a write refused for a read-only file: %d %q; want 503 saying the database file is read-only", st, body)
	}

	// The operator makes the files writable again: ready at once.
	if out, err := exec.Command(chattr, append([]string{"-i"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v: %s", err, out)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusOK {
		t.Errorf("/readyz once the file is writable again: %d %q; want 200", st, body)
	}
	s.CreateToken(t, admin, map[string]any{"name": "writable-again", "scopes": []string{"repo:read"}})
}
