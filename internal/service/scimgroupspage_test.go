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

// The group reads of countingStore (scimpage_test.go): a call, and one
// read per group it returns, each group read with its members.

func (s *countingStore) GetGroup(ctx context.Context, id string) (*store.Group, error) {
	s.reads.Add(1)
	return s.Store.GetGroup(ctx, id)
}

func (s *countingStore) ListGroups(ctx context.Context, displayName string) ([]*store.Group, error) {
	gs, err := s.Store.ListGroups(ctx, displayName)
	s.reads.Add(1 + int64(len(gs)))
	return gs, err
}

func (s *countingStore) ListSCIMGroups(ctx context.Context, displayName string, offset, limit int, members bool) ([]*store.Group, int, error) {
	gs, total, err := s.Store.ListSCIMGroups(ctx, displayName, offset, limit, members)
	s.reads.Add(1 + int64(len(gs)))
	return gs, total, err
}

// memberReads counts the store calls that read group members.
type memberReads struct {
	*countingStore
	n atomic.Int64
}

func (s *memberReads) GetGroup(ctx context.Context, id string) (*store.Group, error) {
	s.n.Add(1)
	return s.countingStore.GetGroup(ctx, id)
}

func (s *memberReads) ListGroups(ctx context.Context, displayName string) ([]*store.Group, error) {
	s.n.Add(1)
	return s.countingStore.ListGroups(ctx, displayName)
}

func (s *memberReads) ListSCIMGroups(ctx context.Context, displayName string, offset, limit int, members bool) ([]*store.Group, int, error) {
	if members {
		s.n.Add(1)
	}
	return s.countingStore.ListSCIMGroups(ctx, displayName, offset, limit, members)
}

// TestSCIMGroupListCostsAPageNotEveryGroup: GET /scim/v2/Groups without a
// filter reads only the page asked for, so with thousands of groups one
// request costs O(count) store reads, not O(groups x members); the total
// is still the number of groups (RFC 7644 §3.4.2.4). Without members
// (excludedAttributes=members, as Entra ID and Okta send it) no member is
// read at all.
func TestSCIMGroupListCostsAPageNotEveryGroup(t *testing.T) {
	forEachStore(t, func(t *testing.T, real store.Store) {
		ctx := t.Context()
		st := &memberReads{countingStore: &countingStore{Store: real}}
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
		now := time.Now().UTC()
		var people []string
		for i := range 5 {
			name := fmt.Sprintf("p%d", i)
			u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Username: name, IdPUserName: name + "@corp.example",
				Role: store.RoleMember, Kind: store.KindPerson, LoginType: store.LoginTypeOIDC, CreatedAt: now, UpdatedAt: now}
			if err := real.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			people = append(people, u.ID)
		}
		const groups = 3000
		for i := range groups {
			g := &store.Group{ID: uuid.Must(uuid.NewV7()).String(), DisplayName: fmt.Sprintf("g%04d", i), Members: people[:i%len(people)+1],
				CreatedAt: now, UpdatedAt: now}
			if err := real.CreateGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			start, count, n, first int
		}{
			{1, 10, 10, 0},
			{2991, 50, 10, 2990},
			{groups + 1, 10, 0, -1},
			{1, 0, 0, -1},
			{0, -3, 0, -1},
			{-7, 2, 2, 0},
			{1, 1 << 40, 1000, 0}, // at most a page of 1000
		} {
			for _, members := range []bool{true, false} {
				what := fmt.Sprintf("startIndex %d count %d members %v", tc.start, tc.count, members)
				st.reads.Store(0)
				st.n.Store(0)
				page, err := svc.Users.SCIMGroups(ctx, a, service.SCIMGroupFilter{}, tc.start, tc.count, members)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if page.Total != groups || len(page.Groups) != tc.n {
					t.Errorf("%s: %d groups of %d, want %d of %d", what, len(page.Groups), page.Total, tc.n, groups)
				}
				if tc.first >= 0 && len(page.Groups) > 0 {
					g := page.Groups[0]
					if g.DisplayName != fmt.Sprintf("g%04d", tc.first) {
						t.Errorf("%s: first group %s, want g%04d", what, g.DisplayName, tc.first)
					}
					if wantN := tc.first%len(people) + 1; members && len(g.Members) != wantN {
						t.Errorf("%s: first group has %d members, want %d", what, len(g.Members), wantN)
					}
				}
				if reads := st.reads.Load(); reads > int64(2*tc.n+3) {
					t.Errorf("%s: %d store reads for a page of %d groups of %d, want at most %d", what, reads, tc.n, groups, 2*tc.n+3)
				}
				if !members {
					if n := st.n.Load(); n != 0 {
						t.Errorf("%s: %d store calls read members, want none", what, n)
					}
					for _, g := range page.Groups {
						if g.Members != nil {
							t.Errorf("%s: group %s has members %v, want none read", what, g.DisplayName, g.Members)
							break
						}
					}
				}
			}
		}
		// A filter finds the one group (ignoring case), with its members or
		// without reading any, and an empty name none.
		name, empty := "G0042", ""
		for _, members := range []bool{true, false} {
			st.n.Store(0)
			page, err := svc.Users.SCIMGroups(ctx, a, service.SCIMGroupFilter{DisplayName: &name}, 1, 100, members)
			if err != nil || page.Total != 1 || len(page.Groups) != 1 || page.Groups[0].DisplayName != "g0042" {
				t.Fatalf("displayName eq %q: %+v %v, want g0042", name, page, err)
			}
			if got := len(page.Groups[0].Members); members && got != 42%len(people)+1 {
				t.Errorf("displayName eq %q: %d members, want %d", name, got, 42%len(people)+1)
			}
			if n := st.n.Load(); !members && (n != 0 || page.Groups[0].Members != nil) {
				t.Errorf("displayName eq %q without members: %d store calls read members (%v), want none", name, n, page.Groups[0].Members)
			}
		}
		page, err := svc.Users.SCIMGroups(ctx, a, service.SCIMGroupFilter{DisplayName: &empty}, 1, 100, true)
		if err != nil || page.Total != 0 || len(page.Groups) != 0 {
			t.Errorf("displayName eq \"\": %+v %v, want no group", page, err)
		}
	})
}
