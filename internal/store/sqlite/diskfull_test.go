package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// TestAFullDatabaseIsErrDiskFull fills the database (max_page_count set to
// the pages in use, so the next write needing a page fails with
// SQLITE_FULL, as on a full disk) and checks that writes fail with
// store.ErrDiskFull while reads keep working.
func TestAFullDatabaseIsErrDiskFull(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &store.User{ID: "01a00000-0000-7000-8000-000000000001", Username: "filler", Role: store.RoleMember, Kind: store.KindService, LoginType: "none", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.FillForTest(ctx); err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 1000 && werr == nil; i++ {
		werr = st.CreateUser(ctx, &store.User{ID: fmt.Sprintf("01a00000-0000-7000-8000-%012d", i+2), Username: fmt.Sprintf("u%d-%s", i, strings.Repeat("x", 50)),
			Role: store.RoleMember, Kind: store.KindService, LoginType: "none", CreatedAt: now, UpdatedAt: now})
	}
	if !errors.Is(werr, store.ErrDiskFull) {
		t.Fatalf("write to a full database: %v; want store.ErrDiskFull", werr)
	}
	if _, err := st.GetUser(ctx, u.ID); err != nil {
		t.Errorf("read from a full database: %v", err)
	}
}
