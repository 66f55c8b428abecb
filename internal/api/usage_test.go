package api_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestLastUsedAppearsAfterUse(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "ci", "scopes": []string{"repo"}})
		if tk.Token.LastUsedAt != nil || tk.Token.LastUsedIP != "" {
			t.Fatalf("new token already used: %+v", tk.Token)
		}
		before := time.Now().Add(-time.Second)
		for range 3 {
			if r := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/me", Auth: bearer(tk.Secret), Agent: "ci-runner/2.1"}); r.Status != http.StatusOK {
				t.Fatalf("use: %s", r)
			}
		}
		var got tokenJSON
		eventually(t, 10*time.Second, "last_used_at to be recorded", func() bool {
			got = getToken(t, s, w.Member, tk.Token.ID)
			return got.LastUsedAt != nil
		})
		if got.LastUsedAt.Before(before) || got.LastUsedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("last_used_at %v is not about now", got.LastUsedAt)
		}
		if got.LastUsedIP != "127.0.0.1" || got.LastUsedAgent != "ci-runner/2.1" {
			t.Errorf("last_used_ip %q agent %q", got.LastUsedIP, got.LastUsedAgent)
		}
		if !slices.Contains(got.RecentIPs, "127.0.0.1") {
			t.Errorf("recent_ips %v", got.RecentIPs)
		}
		// The listing shows the same.
		list := decode[tokenList](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens", Auth: w.Member}), http.StatusOK)
		for _, it := range list.Items {
			if it.ID == tk.Token.ID && (it.LastUsedAt == nil || it.LastUsedIP != "127.0.0.1") {
				t.Errorf("list shows last_used_at %v ip %q", it.LastUsedAt, it.LastUsedIP)
			}
		}
		// Requests per day are counted.
		type usage struct {
			Days []struct {
				Day   string `json:"day"`
				Count int64  `json:"count"`
			} `json:"days"`
		}
		eventually(t, 10*time.Second, "usage counts", func() bool {
			u := decode[usage](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens/" + tk.Token.ID + "/usage", Auth: w.Member}), http.StatusOK)
			var n int64
			for _, d := range u.Days {
				n += d.Count
			}
			return n >= 3
		})
		// A refused request is not a use.
		other := createToken(t, s, w.Member, map[string]any{"name": "unused"})
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + other.Token.ID, Auth: w.Member})
		meStatus(t, s, bearer(other.Secret))
		time.Sleep(300 * time.Millisecond) // three flush intervals
		if got := getToken(t, s, w.Member, other.Token.ID); got.LastUsedAt != nil {
			t.Errorf("a refused revoked token shows last_used_at %v", got.LastUsedAt)
		}
	})
}

func TestPaginationVisitsEveryTokenExactlyOnce(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		made := map[string]bool{}
		var order []string
		for i := range 11 {
			auth := w.Member
			if i%3 == 0 {
				auth = w.Other
			}
			tk := createToken(t, s, auth, map[string]any{"name": "t" + string(rune('a'+i))})
			made[tk.Token.ID] = auth == w.Member
			order = append(order, tk.Token.ID)
		}
		walk := func(auth, query string, limit int) []string {
			var seen []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatalf("more than 20 pages")
				}
				path := "/api/v1/tokens?limit=" + strconv.Itoa(limit) + query
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				r := send(t, s, call{Method: http.MethodGet, Path: path, Auth: auth})
				if _, ok := rawKeys(t, r.Body)["next_cursor"]; !ok {
					t.Fatalf("page lacks next_cursor: %s", r.Body)
				}
				page := decode[tokenList](t, r, http.StatusOK)
				if len(page.Items) > limit {
					t.Fatalf("page of %d items with limit %d", len(page.Items), limit)
				}
				for _, it := range page.Items {
					seen = append(seen, it.ID)
				}
				if page.NextCursor == "" {
					return seen
				}
				if len(page.Items) == 0 {
					t.Fatalf("empty page with a next_cursor")
				}
				cursor = page.NextCursor
			}
		}
		var mine, all []string
		for i := len(order) - 1; i >= 0; i-- { // newest first
			all = append(all, order[i])
			if made[order[i]] {
				mine = append(mine, order[i])
			}
		}
		for _, limit := range []int{1, 2, 3, 7, 50} {
			if got := walk(w.Member, "", limit); !slices.Equal(got, mine) {
				t.Errorf("member, limit %d: visited %v, want %v", limit, got, mine)
			}
			if got := walk(w.Owner, "&all=true", limit); !slices.Equal(got, all) {
				t.Errorf("admin all, limit %d: visited %v, want %v", limit, got, all)
			}
		}
		// A page that ends exactly at the last token says there is no more.
		if got := walk(w.Member, "", len(mine)); !slices.Equal(got, mine) {
			t.Errorf("limit = count: visited %v", got)
		}
	})
}

func TestRecentAddressesAndNewAddressAudit(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		skipWithoutSecondLoopback(t, s)
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "roaming"})
		me(t, s, bearer(tk.Secret))
		eventually(t, 10*time.Second, "the first use to be recorded", func() bool {
			return getToken(t, s, w.Member, tk.Token.ID).LastUsedAt != nil
		})
		r := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/me", Auth: bearer(tk.Secret), From: "127.0.0.2", Agent: "laptop/1"})
		if r.Status != http.StatusOK {
			t.Fatalf("use from 127.0.0.2: %s", r)
		}
		var got tokenJSON
		eventually(t, 10*time.Second, "the second address to be recorded", func() bool {
			got = getToken(t, s, w.Member, tk.Token.ID)
			return got.LastUsedIP == "127.0.0.2"
		})
		if !slices.Equal(got.RecentIPs, []string{"127.0.0.2", "127.0.0.1"}) || got.LastUsedAgent != "laptop/1" {
			t.Errorf("recent_ips %v, agent %q", got.RecentIPs, got.LastUsedAgent)
		}
		events := auditAll(t, s, w.Owner, "&action=token.new_ip&target_id="+tk.Token.ID)
		if len(events) != 1 || events[0].IP != "127.0.0.2" {
			t.Errorf("new-address audit events: %+v", events)
		}
	})
}

func TestIPAllowlistLimitsWhereATokenWorks(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		skipWithoutSecondLoopback(t, s)
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "pinned", "ip_allowlist": []string{"127.0.0.2", "10.0.0.0/8"}})
		if !slices.Equal(tk.Token.IPAllowlist, []string{"127.0.0.2/32", "10.0.0.0/8"}) {
			t.Errorf("ip_allowlist stored as %v", tk.Token.IPAllowlist)
		}
		p := want401(t, meStatus(t, s, bearer(tk.Secret)))
		if !strings.Contains(p.Detail, "IP") {
			t.Errorf("401 does not explain the address: %s", p.Detail)
		}
		if r := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/me", Auth: bearer(tk.Secret), From: "127.0.0.2"}); r.Status != http.StatusOK {
			t.Errorf("from an allowed address: %s", r)
		}
		// Clearing the allowlist frees it at once.
		decode[tokenJSON](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + tk.Token.ID, Auth: w.Member,
			Body: map[string]any{"ip_allowlist": []string{}}}), http.StatusOK)
		me(t, s, bearer(tk.Secret))
	})
}

// skipWithoutSecondLoopback skips when this machine cannot connect from
// 127.0.0.2 (only 127.0.0.1 is loopback on some systems).
func skipWithoutSecondLoopback(t *testing.T, s *servertest.Server) {
	t.Helper()
	resp, err := clientFrom("127.0.0.2").Get(s.URL + "/healthz")
	if err != nil {
		t.Skipf("cannot connect from 127.0.0.2: %v", err)
	}
	resp.Body.Close()
}

// TestMeShowsTheStoredLastUseOfItsToken: /api/v1/me shows the token's
// stored last use, on both stores, although the SQLite store's
// verification read leaves it out; and a token without the tokens scope
// may see it.
func TestMeShowsTheStoredLastUseOfItsToken(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "git", "scopes": []string{"repo:read"}})
		if r := send(t, s, call{Method: http.MethodGet, Path: "/auth/verify/acme/web.git/info/refs?service=git-upload-pack",
			Auth: bearer(tk.Secret), Agent: "git/2.47"}); r.Status != http.StatusOK {
			t.Fatalf("use: %s", r)
		}
		var stored tokenJSON
		eventually(t, 10*time.Second, "last_used_at to be recorded", func() bool {
			stored = getToken(t, s, w.Member, tk.Token.ID)
			return stored.LastUsedAt != nil
		})
		got := me(t, s, bearer(tk.Secret))
		if got.Token == nil || got.Token.ID != tk.Token.ID {
			t.Fatalf("/me token = %+v, want %s", got.Token, tk.Token.ID)
		}
		if got.Token.LastUsedAt == nil || !got.Token.LastUsedAt.Equal(*stored.LastUsedAt) ||
			got.Token.LastUsedIP != "127.0.0.1" || got.Token.LastUsedAgent != "git/2.47" || !slices.Equal(got.Token.RecentIPs, stored.RecentIPs) {
			t.Errorf("/me shows last use %v %q %q %v, want the stored %v 127.0.0.1 git/2.47 %v", got.Token.LastUsedAt,
				got.Token.LastUsedIP, got.Token.LastUsedAgent, got.Token.RecentIPs, stored.LastUsedAt, stored.RecentIPs)
		}
	})
}
