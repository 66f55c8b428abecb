package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWritesAfterTheWALWasDeletedSucceed deletes the WAL file under an
// open store: the writes that follow still succeed (each made durable in
// the database file before it returns), they do not fail for the fault.
func TestWritesAfterTheWALWasDeletedSucceed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.execAuto(ctx, `CREATE TABLE fault (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + "-wal"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := s.exec(ctx, `INSERT INTO fault VALUES (?)`, i); err != nil {
			t.Fatalf("write %d after the WAL file was deleted: %v", i, err)
		}
		time.Sleep(time.Duration(i) * time.Millisecond)
	}
}
