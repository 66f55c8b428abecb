package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAuditLogLeakFilterFindsLeakReports pins the "Leak reports" choice of
// the audit log's action filter to the action a leak report records, and
// shows what a report's url said without the direction override its
// reporter put in.
func TestAuditLogLeakFilterFindsLeakReports(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	leaked := s.CreateToken(t, admin, map[string]any{"name": "leaky", "scopes": []string{"repo"}})
	s.JSON(t, http.MethodPost, "/api/v1/leaks", "", []map[string]string{{"token": leaked.Secret, "url": "https://paste.example.com/\u202etxt.exe"}}, http.StatusOK, nil)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)

	p := b.get(t, "/admin/audit")
	mustContain(t, p, `<option value="token.leak_reported">Leak reports</option>`)
	p = b.get(t, "/admin/audit?action=token.leak_reported")
	mustContain(t, p, "Leak reported", "leaky", "https://paste.example.com/")
	if strings.Contains(tbody(p), "\u202e") {
		t.Error("the audit log shows the report's U+202E")
	}
}
