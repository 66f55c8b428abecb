package service_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// countingStore is the real store, counting the reads a SCIM user list
// makes per user.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	s.reads.Add(1)
	return s.Store.GetUser(ctx, id)
}

func (s *countingStore) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, error) {
	s.reads.Add(1)
	return s.Store.ListUsers(ctx, f)
}

func (s *countingStore) ListIdentities(ctx context.Context, userID string) ([]*store.Identity, error) {
	s.reads.Add(1)
	return s.Store.ListIdentities(ctx, userID)
}

func (s *countingStore) ListUserGroups(ctx context.Context, userID string) ([]*store.Group, error) {
	s.reads.Add(1)
	return s.Store.ListUserGroups(ctx, userID)
}

// TestSCIMUserListCostsAPageNotEveryUser: GET /scim/v2/Users without a
// filter builds views only for the page asked for, so with thousands of
// people one request costs O(count) store reads, not O(people); the total
// is still the number of people SCIM manages (RFC 7644 §3.4.2.4).
func TestSCIMUserListCostsAPageNotEveryUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, real store.Store) {
		ctx := t.Context()
		st := &countingStore{Store: real}
		cat := scope.DefaultCatalog()
		svc := service.New(st, cat, service.Config{TokenPrefix: "lk"}, nil, nil, nil)
		if _, err := svc.Users.Bootstrap(ctx, "olga", "owner-password-1"); err != nil {
			t.Fatal(err)
		}
		olga, err := real.GetUserByUsername(ctx, "olga")
		if err != nil {
			t.Fatal(err)
		}
		scim, err := cat.ParseSet([]string{"scim"})
		if err != nil {
			t.Fatal(err)
		}
		a := service.Actor{User: olga, Scopes: scim}
		const people = 3000
		now := time.Now().UTC()
		for i := range people {
			name := fmt.Sprintf("p%04d", i)
			if err := real.CreateUser(ctx, &store.User{ID: uuid.Must(uuid.NewV7()).String(), Username: name, IdPUserName: name + "@corp.example",
				Role: store.RoleMember, Kind: store.KindPerson, LoginType: store.LoginTypeOIDC, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			start, count, n, first int
		}{
			{1, 10, 10, 0},
			{2991, 50, 10, 2990},
			{people + 1, 10, 0, -1},
			{1, 0, 0, -1},
			{0, -3, 0, -1},
			{-7, 2, 2, 0},
			{1, 1 << 40, 1000, 0}, // at most a page of 1000
		} {
			st.reads.Store(0)
			page, err := svc.Users.SCIMUsers(ctx, a, service.SCIMUserFilter{}, tc.start, tc.count)
			if err != nil {
				t.Fatalf("startIndex %d count %d: %v", tc.start, tc.count, err)
			}
			if page.Total != people || len(page.Users) != tc.n {
				t.Errorf("startIndex %d count %d: %d users of %d, want %d of %d", tc.start, tc.count, len(page.Users), page.Total, tc.n, people)
			}
			if tc.first >= 0 && len(page.Users) > 0 && page.Users[0].UserName != fmt.Sprintf("p%04d@corp.example", tc.first) {
				t.Errorf("startIndex %d: first user %s, want p%04d@corp.example", tc.start, page.Users[0].UserName, tc.first)
			}
			if reads := st.reads.Load(); reads > int64(3*tc.n+3) {
				t.Errorf("startIndex %d count %d: %d store reads for a page of %d users of %d, want at most %d", tc.start, tc.count, reads, tc.n, people, 3*tc.n+3)
			}
		}
	})
}
