package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// groupMemberReads counts the store calls that read a group's members.
type groupMemberReads struct {
	store.Store
	n atomic.Int64
}

func (s *groupMemberReads) GetGroup(ctx context.Context, id string) (*store.Group, error) {
	s.n.Add(1)
	return s.Store.GetGroup(ctx, id)
}

func (s *groupMemberReads) GetSCIMGroup(ctx context.Context, id string, members bool) (*store.Group, error) {
	if members {
		s.n.Add(1)
	}
	return s.Store.GetSCIMGroup(ctx, id, members)
}

// TestSCIMGroupAskedWithoutMembersReadsNone: the group GET
// /scim/v2/Groups/{id}?excludedAttributes=members answers is read without
// its members (a group may hold thousands), and with them otherwise.
func TestSCIMGroupAskedWithoutMembersReadsNone(t *testing.T) {
	forEachStore(t, func(t *testing.T, real store.Store) {
		ctx := t.Context()
		st := &groupMemberReads{Store: real}
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
		g := &store.Group{ID: uuid.Must(uuid.NewV7()).String(), DisplayName: "team", Members: []string{olga.ID}, CreatedAt: now, UpdatedAt: now}
		if err := real.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		for _, members := range []bool{true, false} {
			st.n.Store(0)
			got, err := svc.Users.SCIMGroupAnswered(ctx, a, g.ID, members)
			if err != nil {
				t.Fatalf("members %v: %v", members, err)
			}
			if got.DisplayName != "team" {
				t.Errorf("members %v: group %q, want team", members, got.DisplayName)
			}
			if members && (len(got.Members) != 1 || st.n.Load() != 1) {
				t.Errorf("with members: %v after %d member reads, want olga after 1", got.Members, st.n.Load())
			}
			if !members && (got.Members != nil || st.n.Load() != 0) {
				t.Errorf("without members: %v after %d member reads, want none read", got.Members, st.n.Load())
			}
		}
		if _, err := svc.Users.SCIMGroupAnswered(ctx, a, uuid.Must(uuid.NewV7()).String(), false); !errors.Is(err, service.ErrNotFound) {
			t.Errorf("an unknown group: %v, want not found", err)
		}
		if _, err := svc.Users.SCIMGroupAnswered(ctx, service.Actor{User: olga}, g.ID, false); !errors.Is(err, service.ErrForbidden) {
			t.Errorf("without the scim scope: %v, want forbidden", err)
		}
	})
}
