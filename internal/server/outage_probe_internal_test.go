package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestTheReadinessProbeWriteLeavesNothingBehind: the write readiness makes
// after a refused one commits on each backend and leaves no row: the JWKS
// never lists a probe key.
func TestTheReadinessProbeWriteLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	open := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			st, err := postgres.Open(ctx, postgres.NewTestSchema(t, testenv.PostgresDSN(t)))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			st := open[name](t)
			t.Cleanup(func() { st.Close() })
			for range 3 {
				if err := probeWrite(ctx, st); err != nil {
					t.Fatalf("probe write: %v", err)
				}
			}
			keys, err := st.ListSigningKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 0 {
				t.Errorf("after the probes the store has %d signing keys; want none", len(keys))
			}
		})
	}
}
