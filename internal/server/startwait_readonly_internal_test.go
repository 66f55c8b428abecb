package server

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestStartingOnADatabaseThatAcceptsNoWritesSaysHowToFixIt: the first
// start on an empty database whose sessions are read-only (the URL leads
// to a standby, or default_transaction_read_only is on) cannot create the
// schema. Waiting will not fix that: the start ends at once, saying the
// database accepts no writes and how to point the server at the primary.
func TestStartingOnADatabaseThatAcceptsNoWritesSaysHowToFixIt(t *testing.T) {
	dsn := postgres.NewTestSchema(t, testenv.PostgresDSN(t))
	// A read-only session, as a standby gives every connection (the
	// schema's URL already has a query: search_path).
	readOnly := dsn + "&default_transaction_read_only=on"
	a := &App{Config: config.Serve{DatabaseURL: readOnly}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	st, err := a.openPostgresWaiting(context.Background())
	if err == nil {
		st.Close()
		t.Fatal("the server started on a database that accepts no writes, with no schema in it")
	}
	if msg := err.Error(); !strings.Contains(msg, "accepts no writes") || !strings.Contains(msg, "target_session_attrs=read-write") {
		t.Errorf("start on a read-only database: %q; want it to say the database accepts no writes and name target_session_attrs=read-write", msg)
	}
}
