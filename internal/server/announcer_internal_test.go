package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/testenv"
)

// afterCommitCut is a PostgreSQL store whose connection is cut the moment
// a transaction commits: a NOTIFY sent after the commit fails, as it does
// when the database restarts or the network drops between the two.
type afterCommitCut struct {
	*postgres.Store
	mu     sync.Mutex
	inTx   bool
	cutOff bool
}

type inTxKey struct{}

func (s *afterCommitCut) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(inTxKey{}) != nil {
		return s.Store.Atomically(ctx, fn)
	}
	err := s.Store.Atomically(ctx, func(ctx context.Context) error {
		return fn(context.WithValue(ctx, inTxKey{}, true))
	})
	s.mu.Lock()
	s.cutOff = true
	s.mu.Unlock()
	return err
}

func (s *afterCommitCut) Publish(ctx context.Context, channel, payload string) error {
	s.mu.Lock()
	cut := s.cutOff
	s.mu.Unlock()
	if ctx.Value(inTxKey{}) == nil && cut {
		return errors.New("connection lost")
	}
	return s.Store.Publish(ctx, channel, payload)
}

// TestTheAdminAnnouncerAnnouncesInTheCommit: `latchkey admin` ends a
// user's sessions (a password reset) on a shared PostgreSQL while the
// connection is lost right after the commit. The running servers must
// still hear of it: the announcement goes out with the commit, not after
// it, so it cannot be lost between the two, and the command reports no
// failure to announce.
func TestTheAdminAnnouncerAnnouncesInTheCommit(t *testing.T) {
	ctx := context.Background()
	pg, err := postgres.Open(ctx, postgres.NewTestSchema(t, testenv.PostgresDSN(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	heard := make(chan string, 16)
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	if err := pg.Subscribe(lctx, invalidationChannel, func(p string) { heard <- p }); err != nil {
		t.Fatal(err)
	}
	st := &afterCommitCut{Store: pg}
	announce := NewAnnouncer(st)
	svc := service.New(st, scope.DefaultCatalog(), service.Config{}, announce, nil, nil)
	now := time.Now().UTC()
	u := &store.User{ID: "u1", Username: "ada", Role: store.RoleMember, Kind: store.KindPerson, CreatedAt: now, UpdatedAt: now}
	if err := pg.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Users.ResetPassword(ctx, "ada", "a-new-password-42"); err != nil {
		t.Fatal(err)
	}
	if err := announce.Err(); err != nil {
		t.Errorf("the announcer reports %v; the announcement should have gone out with the commit", err)
	}
	select {
	case p := <-heard:
		if !strings.Contains(p, `"u1"`) {
			t.Errorf("heard %s; want the change of user u1", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no running server heard of the password reset: its announcement was lost after the commit")
	}
}

// nopInvalidator is a verification cache with nothing in it.
type nopInvalidator struct{}

func (nopInvalidator) TokenChanged(*store.Token) {}
func (nopInvalidator) UserChanged(string)        {}
func (nopInvalidator) SessionRevoked([]byte)     {}

// TestAPolicyChangeIsAnnouncedInItsCommit: an admin lowers the maximum
// lifetime on one replica while that replica's connection is lost right
// after the commit. The other replicas must still hear of it at once: the
// announcement goes out with the commit, not after it.
func TestAPolicyChangeIsAnnouncedInItsCommit(t *testing.T) {
	ctx := context.Background()
	pg, err := postgres.Open(ctx, postgres.NewTestSchema(t, testenv.PostgresDSN(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	heard := make(chan string, 16)
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	if err := pg.Subscribe(lctx, invalidationChannel, func(p string) { heard <- p }); err != nil {
		t.Fatal(err)
	}
	st := &afterCommitCut{Store: pg}
	svc := service.New(st, scope.DefaultCatalog(), service.Config{}, nopInvalidator{}, nil, nil)
	app := &App{Store: st, Services: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := app.replicate(nopInvalidator{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range app.closers {
			c(ctx)
		}
	})
	admin := service.Actor{User: &store.User{ID: "a1", Username: "root", Role: store.RoleOwner, Kind: store.KindPerson},
		Scopes: scope.DefaultCatalog().ForRole("owner"), Session: true}
	if _, err := svc.Policies.Set(ctx, admin, service.PolicyInput{DefaultLifetime: "24h", MaxLifetime: "48h"}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-heard:
		if !strings.Contains(p, `"policy"`) {
			t.Errorf("heard %s; want a policy change", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no other replica heard of the policy change: its announcement was lost after the commit")
	}
}
