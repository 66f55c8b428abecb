package client_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
)

// TestAuditExportRefusesAnEventTooLargeToBeOne: the export is one long
// stream, outside the 16 MiB bound every other answer has. A server (or
// anything between) sending one endless JSON value must not make the
// client (the CLI's `latchkey audit --export`) buffer it until memory runs
// out: no audit event is near a megabyte, so a longer line is an error.
func TestAuditExportRefusesAnEventTooLargeToBeOne(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		bw := bufio.NewWriter(w)
		_, _ = io.WriteString(bw, `{"id":1,"action":"token.create","details":{}}`+"\n")
		_, _ = io.WriteString(bw, `{"id":2,"action":"`)
		chunk := strings.Repeat("a", 64<<10)
		for range 1024 { // 64 MiB, in one string
			if _, err := io.WriteString(bw, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(bw, `"}`+"\n")
		_ = bw.Flush()
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.WithToken("lk_pat_x"))
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	var last error
	for e, err := range c.ExportAudit(t.Context(), client.AuditOptions{}) {
		if err != nil {
			last = err
			break
		}
		got = append(got, e.ID)
	}
	if len(got) != 1 || got[0] != 1 {
		t.Errorf("events read before the oversized one: %v, want [1]", got)
	}
	if last == nil || !strings.Contains(last.Error(), "too large") {
		t.Fatalf("a 64 MiB event was read without an error saying it is too large: %v", last)
	}
}
