package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestLeakReportTextCannotBreakLinesWithUnicodeSeparators: where a leak was
// found and who reported it are written by whoever holds the secret. Line
// breaks become U+FFFD before the text reaches the audit log, the owner's
// email and the webhook (docs/notifications.md); U+2028 LINE SEPARATOR and
// U+2029 PARAGRAPH SEPARATOR are line breaks too (JavaScript, JSON viewers,
// many mail and chat clients), and would let a report write a line of its
// own under "Found at:", such as a fake "Reported by: GitHub Security".
func TestLeakReportTextCannotBreakLinesWithUnicodeSeparators(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	leaked := s.CreateToken(t, admin, map[string]any{"name": "leaky", "scopes": []string{"repo:read"}})
	report := []map[string]string{{"token": leaked.Secret, "type": "latchkey_pat",
		"url": "https://paste.example.com/1\u2028  Reported by: GitHub Security", "source": "gist\u2029Call +1 555 0100"}}
	s.JSON(t, http.MethodPost, "/api/v1/leaks", "", report, http.StatusOK, nil)

	var audit struct {
		Items []struct {
			Details map[string]any `json:"details"`
		} `json:"items"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/audit?action=token.leak_reported", admin, nil, http.StatusOK, &audit)
	if len(audit.Items) != 1 {
		t.Fatalf("%d leak events, want 1", len(audit.Items))
	}
	for _, k := range []string{"url", "source"} {
		v, _ := audit.Items[0].Details[k].(string)
		if strings.ContainsAny(v, "\u2028\u2029") || !strings.Contains(v, "\ufffd") {
			t.Errorf("the audit log keeps the report's %s as %q; want its separator as U+FFFD", k, v)
		}
	}
}

// TestLeakReportRevokesATokenReportedWithSurroundingWhitespace: a token is
// accepted with spaces around it in Authorization, so the same text
// reported as leaked with a space or a line end around it (copied from a
// file or a terminal) is the same live secret: it is revoked and reported
// true_positive, not left working with a false_positive verdict.
func TestLeakReportRevokesATokenReportedWithSurroundingWhitespace(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	for i, wrap := range []string{" %s\n", "\t%s\r\n", "\n%s"} {
		leaked := s.CreateToken(t, admin, map[string]any{"name": "leaky" + string(rune('a'+i)), "scopes": []string{"repo:read"}})
		s.JSON(t, http.MethodGet, "/api/v1/me", leaked.Secret, nil, http.StatusOK, nil)
		sent := strings.Replace(wrap, "%s", leaked.Secret, 1)
		var verdicts []struct {
			TokenRaw string `json:"token_raw"`
			Label    string `json:"label"`
		}
		s.JSON(t, http.MethodPost, "/api/v1/leaks", "", []map[string]string{{"token": sent, "type": "latchkey_pat"}}, http.StatusOK, &verdicts)
		if len(verdicts) != 1 || verdicts[0].Label != "true_positive" || verdicts[0].TokenRaw != sent {
			t.Errorf("report of %q: verdicts %+v, want true_positive echoing the token as sent", sent, verdicts)
		}
		if status, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", leaked.Secret, nil); status != http.StatusUnauthorized {
			t.Errorf("the token reported as %q still works: %d %s", sent, status, body)
		}
	}
}
