package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestAUsageFlushOnAStandbyIsErrNoWrites: a usage flush (RecordTokenUse)
// on a PostgreSQL that refuses writes (a standby after a failover, or
// default_transaction_read_only; SQLSTATE 25006) fails with
// store.ErrNoWrites, as every other write does, so that the flusher can
// tell readiness why; not with the driver's bare error.
func TestAUsageFlushOnAStandbyIsErrNoWrites(t *testing.T) {
	ctx := context.Background()
	dsn := postgres.NewTestSchema(t, testenv.PostgresDSN(t))
	rw, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	now := time.Now().UTC()
	if err := rw.CreateUser(ctx, &store.User{ID: "u1", Username: "ada", Role: store.RoleMember, Kind: store.KindPerson, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	tok := &store.Token{ID: "t1", UserID: "u1", Name: "ci", Kind: "pat", Digest: []byte("0123456789abcdef0123456789abcdef"), Hint: "abcd", CreatedAt: now}
	if err := rw.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}

	// The same schema through connections on which every transaction is
	// read-only, as on a standby.
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("default_transaction_read_only", "on")
	u.RawQuery = q.Encode()
	ro, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	use := store.TokenUse{TokenID: "t1", At: now, IP: "192.0.2.7", Agent: "ci/1", IPs: []string{"192.0.2.7"},
		NewAddresses: []store.AddressUse{{IP: "192.0.2.7", At: now, Agent: "ci/1"}},
		Counts:       map[string]int64{now.Format(time.DateOnly): 3}}
	err = ro.RecordTokenUse(ctx, []store.TokenUse{use})
	if !errors.Is(err, store.ErrNoWrites) {
		t.Fatalf("RecordTokenUse on a read-only database: %v; want store.ErrNoWrites", err)
	}
	if msg, _, ok := store.Outage(err); !ok {
		t.Errorf("store.Outage does not recognise %v", err)
	} else if want := "accepts no writes"; !strings.Contains(msg, want) {
		t.Errorf("store.Outage(%v) = %q; want it to say %q", err, msg, want)
	}
	if _, err := ro.TokenUsage(ctx, "t1", now.Add(-24*time.Hour)); err != nil {
		t.Errorf("reading usage on a read-only database: %v; reads work", err)
	}
	// Nothing was written, and the same batch goes through where writes work.
	if err := rw.RecordTokenUse(ctx, []store.TokenUse{use}); err != nil {
		t.Fatal(err)
	}
	days, err := rw.TokenUsage(ctx, "t1", now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Count != 3 {
		t.Errorf("usage after the refused and the accepted flush: %+v; want one day of 3", days)
	}
}
