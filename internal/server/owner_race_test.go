package server_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestTwoOwnersDemotingEachOtherAtOnceLeaveAnOwner: the last-owner rule
// must hold when the two last owners demote (or delete) each other at the
// same moment, not only one after the other. (Suspension and deletion
// take the same lock; a suspension also ends the person's sessions, which
// would end this test's.)
func TestTwoOwnersDemotingEachOtherAtOnceLeaveAnOwner(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "bea", "correct horse battery", "owner", "person")
	bea := s.Login(t, "bea", "correct horse battery")
	activeOwners := func() int {
		var page struct {
			Items []struct {
				Role      string `json:"role"`
				Suspended bool   `json:"suspended"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/users?limit=100", admin, nil, http.StatusOK, &page)
		n := 0
		for _, u := range page.Items {
			if u.Role == "owner" && !u.Suspended {
				n++
			}
		}
		return n
	}
	for round := range 30 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, c := range []struct{ bearer, target string }{{admin, "bea"}, {bea, servertest.AdminUser}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _, _ = s.Do(t, http.MethodPatch, "/api/v1/users/"+c.target, c.bearer, map[string]any{"role": "admin"})
			}()
		}
		wg.Wait()
		if n := activeOwners(); n == 0 {
			t.Fatalf("round %d: both changes answered %v and no active owner is left", round, codes)
		}
		// Put both back as owners for the next round (whoever is still one).
		for _, u := range []string{"bea", servertest.AdminUser} {
			for _, bearer := range []string{admin, bea} {
				if st, _, _ := s.Do(t, http.MethodPatch, "/api/v1/users/"+u, bearer, map[string]any{"role": "owner"}); st == http.StatusOK {
					break
				}
			}
		}
		if n := activeOwners(); n != 2 {
			t.Fatalf("round %d: could not restore both owners (%d active)", round, n)
		}
	}
}
