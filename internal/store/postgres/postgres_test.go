package postgres_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// testDSN returns the server DSN from the environment or skips the test.
func testDSN(t *testing.T) string {
	t.Helper()
	return testenv.PostgresDSN(t)
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		// A session zone far from UTC: nothing may depend on it.
		s, err := postgres.Open(t.Context(), withTimeZone(postgres.NewTestSchema(t, dsn), "Pacific/Chatham"))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// withTimeZone sets the session TimeZone on a DSN of either form.
func withTimeZone(dsn, zone string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "timezone=" + zone
	}
	return dsn + " timezone=" + zone
}
