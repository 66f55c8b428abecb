package servertest

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/latchkey/latchkey/internal/pgcluster"
	"github.com/latchkey/latchkey/internal/testenv"
)

// PrivatePostgres starts a private PostgreSQL cluster for a test that must
// stop or restart the database, and removes it when the test ends. It skips
// (fails under CI=true) when the server binaries are not installed.
func PrivatePostgres(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "latchkey-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgcluster.Start(context.Background(), dir+"/cluster")
	if errors.Is(err, pgcluster.ErrMissing) {
		os.RemoveAll(dir)
		testenv.Missing(t, "%v", err)
		return nil
	}
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start a private PostgreSQL cluster: %v", err)
	}
	t.Cleanup(func() { c.Close(); os.RemoveAll(dir) })
	return c
}
