package server_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestTwoOwnersDemotingEachOtherAtOnceLeaveAnOwner: the last-owner rule
// must hold when the two last owners demote each other at the same moment,
// not only one after the other. (Suspension and deletion go through the
// same store check; a suspension also ends the person's sessions, which
// would end this test's. internal/store/storetest races all three.)
func TestTwoOwnersDemotingEachOtherAtOnceLeaveAnOwner(t *testing.T) {
	s := servertest.Start(t)
	demoteEachOther(t, s, s, 30)
}

// TestTwoReplicasDemotingTheLastTwoOwnersAtOnceLeaveAnOwner is the same
// race between two processes on one PostgreSQL database: each owner's
// demotion goes to a different replica, so nothing held in one process
// can order them; only the database can.
func TestTwoReplicasDemotingTheLastTwoOwnersAtOnceLeaveAnOwner(t *testing.T) {
	shared := servertest.NewPostgresSchema(t, testenv.PostgresDSN(t))
	a := servertest.StartReplica(t, shared)
	b := servertest.StartReplica(t, shared)
	demoteEachOther(t, a, b, 40)
}

// demoteEachOther makes the first owner (on a) and a second owner, bea (on
// b), demote each other at once, rounds times, and fails if a round
// leaves no active owner.
func demoteEachOther(t *testing.T, a, b *servertest.Server, rounds int) {
	admin := a.AdminSession(t)
	a.CreateUser(t, admin, "bea", "correct horse battery", "owner", "person")
	bea := b.Login(t, "bea", "correct horse battery")
	activeOwners := func() int {
		var page struct {
			Items []struct {
				Role      string `json:"role"`
				Suspended bool   `json:"suspended"`
			} `json:"items"`
		}
		a.JSON(t, http.MethodGet, "/api/v1/users?limit=100", admin, nil, http.StatusOK, &page)
		n := 0
		for _, u := range page.Items {
			if u.Role == "owner" && !u.Suspended {
				n++
			}
		}
		return n
	}
	// seenAsOwner waits until the replica each session is used on knows
	// it as an owner again: another replica's cache learns of a role
	// change within a second, and a round in which one side is still
	// refused as an admin races nothing.
	seenAsOwner := func(s *servertest.Server, bearer string) {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var me struct {
				User struct{ Role string } `json:"user"`
			}
			s.JSON(t, http.MethodGet, "/api/v1/me", bearer, nil, http.StatusOK, &me)
			if me.User.Role == "owner" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still sees role %q after 5s", s.URL, me.User.Role)
			}
		}
	}
	for round := range rounds {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, c := range []struct {
			s              *servertest.Server
			bearer, target string
		}{{a, admin, "bea"}, {b, bea, servertest.AdminUser}} {
			wg.Go(func() {
				codes[i], _, _ = c.s.Do(t, http.MethodPatch, "/api/v1/users/"+c.target, c.bearer, map[string]any{"role": "admin"})
			})
		}
		wg.Wait()
		if n := activeOwners(); n == 0 {
			t.Fatalf("round %d: both changes answered %v and no active owner is left", round, codes)
		}
		// Put both back as owners for the next round (whoever is still one).
		for _, u := range []string{"bea", servertest.AdminUser} {
			for _, c := range []struct {
				s      *servertest.Server
				bearer string
			}{{a, admin}, {b, bea}} {
				if st, _, _ := c.s.Do(t, http.MethodPatch, "/api/v1/users/"+u, c.bearer, map[string]any{"role": "owner"}); st == http.StatusOK {
					break
				}
			}
		}
		if n := activeOwners(); n != 2 {
			t.Fatalf("round %d: could not restore both owners (%d active)", round, n)
		}
		seenAsOwner(a, admin)
		seenAsOwner(b, bea)
	}
}
