package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// TestReadinessRecoversAsSoonAsSpaceIsFreed: the disk fills, a write is
// refused, and /readyz says the disk is full at once. An operator then
// frees space (here: rows deleted by another program, whose pages the
// database reuses) and probes again: /readyz answers 200 at once, without
// waiting out any delay, and writes go through.
func TestReadinessRecoversAsSoonAsSpaceIsFreed(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	// Ballast for the operator to delete later.
	for i := range 40 {
		s.CreateToken(t, admin, map[string]any{"name": fmt.Sprintf("ballast-%d", i), "scopes": []string{"repo:read"}, "description": strings.Repeat("b", 400)})
	}
	if err := s.App.Store.(*sqlite.Store).FillForTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	var st int
	var body []byte
	for i := range 500 {
		st, body, _ = s.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": fmt.Sprintf("filler-%d", i), "scopes": []string{"repo:read"}, "description": strings.Repeat("d", 400)})
		if st != http.StatusCreated {
			break
		}
	}
	if st != http.StatusServiceUnavailable || !strings.Contains(string(body), "the disk is full") {
		t.Fatalf("create on a full disk: %d %s; want 503 saying the disk is full", st, body)
	}
	if st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable || !strings.Contains(string(body), "the disk is full") {
		t.Fatalf("/readyz right after a write refused for a full disk: %d %q; want 503 saying the disk is full", st, body)
	}

	// The operator frees space.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.App.Config.DataDir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM tokens WHERE name LIKE 'ballast-%'`); err != nil {
		t.Fatal(err)
	}

	if st, body, _ := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusOK {
		t.Fatalf("/readyz right after space was freed: %d %q; want 200", st, body)
	}
	s.CreateToken(t, admin, map[string]any{"name": "after", "scopes": []string{"repo:read"}})
}
