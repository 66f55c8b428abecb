package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// TestCheckpointerCopiesTheWALBackOffTheWritersPath: a few hundred pages
// of writes, far below the writer's own automatic checkpoint, reach the
// database file within moments when the checkpointer runs, and stay in the
// WAL without it.
func TestCheckpointerCopiesTheWALBackOffTheWritersPath(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      options
		copied bool
	}{
		{"checkpointer", options{}, true},
		{"writer alone", options{noCkpt: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db")
			s, err := open(t.Context(), path, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if (s.ckpt != nil) != tc.copied {
				t.Fatalf("checkpointer running: %v, want %v", s.ckpt != nil, tc.copied)
			}
			u := testUser(t, s)
			time.Sleep(3 * checkpointEvery) // what Open and the user wrote is copied by now, if ever
			before := fileSize(t, path)
			tokens := make([]*store.Token, 2_000)
			for i := range tokens {
				tokens[i] = testToken(u.ID, fmt.Sprintf("t%d", i))
			}
			if err := s.CreateTokens(t.Context(), tokens); err != nil {
				t.Fatal(err)
			}
			// Without the checkpointer the writer checkpoints at SQLite's
			// default of 1,000 pages: the writes must stay below it.
			if wal := fileSize(t, path+"-wal"); wal > 1_000*4096 {
				t.Fatalf("the WAL holds %d bytes: the test's writes must stay below the writer's own checkpoint", wal)
			}
			// Liveness, not speed: the deadline is many ticks long.
			deadline := time.Now().Add(10 * time.Second)
			if !tc.copied {
				deadline = time.Now().Add(10 * checkpointEvery)
			}
			grown := false
			for !grown && time.Now().Before(deadline) {
				time.Sleep(checkpointEvery)
				grown = fileSize(t, path) >= before+256<<10
			}
			if grown != tc.copied {
				t.Errorf("database file %d → %d bytes after 2,000 tokens: copied back = %v, want %v",
					before, fileSize(t, path), grown, tc.copied)
			}
			for _, tk := range []*store.Token{tokens[0], tokens[len(tokens)-1]} {
				if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), tk.Digest); err != nil {
					t.Errorf("token %s after the checkpoints: %v", tk.Name, err)
				}
			}
		})
	}
}

// TestCloseStopsTheCheckpointer: Close waits for the checkpointer, and a
// second Close of it does nothing.
func TestCloseStopsTheCheckpointer(t *testing.T) {
	s := openTest(t, options{})
	c := s.ckpt
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	default:
		t.Fatal("the checkpointer still runs after Close")
	}
	if err := c.close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
