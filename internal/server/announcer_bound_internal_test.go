package server

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/testenv"
)

// announcerRig is `latchkey admin` on a shared PostgreSQL: a store, an
// Announcer, the services, a person ada (u1), and what a running server
// listening on the invalidation channel hears. schema is the store's.
type announcerRig struct {
	pg       *postgres.Store
	announce *Announcer
	svc      *service.Services
	heard    chan string
	schema   string
}

func newAnnouncerRig(t *testing.T) *announcerRig {
	t.Helper()
	ctx := context.Background()
	dsn := postgres.NewTestSchema(t, testenv.PostgresDSN(t))
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	r := &announcerRig{pg: pg, heard: make(chan string, 64), schema: pgx.Identifier{u.Query().Get("search_path")}.Sanitize()}
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	if err := pg.Subscribe(lctx, invalidationChannel, func(p string) { r.heard <- p }); err != nil {
		t.Fatal(err)
	}
	r.announce = NewAnnouncer(pg)
	r.svc = service.New(pg, scope.DefaultCatalog(), service.Config{}, r.announce, nil, nil)
	now := time.Now().UTC()
	if err := pg.CreateUser(ctx, &store.User{ID: "u1", Username: "ada", Role: store.RoleMember, Kind: store.KindPerson, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return r
}

// hearUser waits for an announcement of a change of user u1.
func (r *announcerRig) hearUser(t *testing.T, what string) {
	t.Helper()
	for {
		select {
		case p := <-r.heard:
			if strings.Contains(p, `"user"`) && strings.Contains(p, `"u1"`) {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no running server heard of %s", what)
		}
	}
}

// pending is how many announcements the Announcer keeps as sent in a
// transaction.
func (a *Announcer) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sent)
}

// TestTheAdminAnnouncerAnnouncesALaterChangeOfTheSameUser: an Announcer
// that lives on after a change it announced in its transaction (a process
// making several changes) must still announce a later change of the same
// user: what it remembers of a transaction's announcements is for that
// transaction's own calls after its commit, not for ever.
func TestTheAdminAnnouncerAnnouncesALaterChangeOfTheSameUser(t *testing.T) {
	r := newAnnouncerRig(t)
	ctx := context.Background()
	if _, err := r.svc.Users.ResetPassword(ctx, "ada", "a-new-password-42"); err != nil {
		t.Fatal(err)
	}
	r.hearUser(t, "the password reset")
	if n := r.announce.pending(); n != 0 {
		t.Errorf("the Announcer still keeps %d announcements of a committed change", n)
	}
	// A later change of ada, announced after its commit.
	r.announce.UserChanged("u1")
	r.hearUser(t, "a later change of the same user: the Announcer took it for the earlier one")
	if err := r.announce.Err(); err != nil {
		t.Errorf("the announcer reports %v", err)
	}
}

// TestTheAdminAnnouncerSaysTheDatabaseWentAwayAtTheCommit: `latchkey
// admin reset-password` on a PostgreSQL whose connection is ended at the
// commit, after the announcement was queued in the transaction. The reset,
// its announcement and its audit event are lost together, and the error
// says the database is unreachable (store.Outage: 503 in the API's words,
// never an internal error). What the Announcer kept of the lost
// transaction does not outlive the next one.
func TestTheAdminAnnouncerSaysTheDatabaseWentAwayAtTheCommit(t *testing.T) {
	r := newAnnouncerRig(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	for _, stmt := range []string{
		`CREATE FUNCTION ` + r.schema + `.cut_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$`,
		`CREATE CONSTRAINT TRIGGER cut_at_commit AFTER UPDATE ON ` + r.schema + `.users
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ` + r.schema + `.cut_at_commit()`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	_, err = r.svc.Users.ResetPassword(ctx, "ada", "a-new-password-42")
	if msg, _, ok := store.Outage(err); !ok || !strings.Contains(msg, "unreachable") {
		t.Fatalf("reset-password when the database goes away at the commit: %v (outage message %q); want the database is unreachable", err, msg)
	}
	if _, err := conn.Exec(ctx, `DROP TRIGGER cut_at_commit ON `+r.schema+`.users`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Users.ResetPassword(ctx, "ada", "another-password-42"); err != nil {
		t.Fatal(err)
	}
	r.hearUser(t, "the password reset after the lost one")
	if n := r.announce.pending(); n != 0 {
		t.Errorf("the Announcer still keeps %d announcements after a lost and a committed change", n)
	}
	r.announce.UserChanged("u1")
	r.hearUser(t, "a later change of the same user after a lost transaction")
}
