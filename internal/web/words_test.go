package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// fieldError returns the error shown next to the field with the given id.
func fieldError(t *testing.T, p page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<p class="field-error" id="` + id + `-error">([^<]*)</p>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no error next to %s:\n%s", id, p.Body)
	}
	return html.UnescapeString(m[1])
}

func TestConsoleErrorsUseTheFormsWords(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	csrf := csrfOf(t, b.get(t, "/admin/policy"))

	t.Run("default above maximum", func(t *testing.T) {
		p := b.post(t, "/admin/policy", url.Values{"csrf_token": {csrf}, "default_lifetime": {"180d"}, "max_lifetime": {"90d"}, "creation": {"everyone"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.Status)
		}
		got := fieldError(t, p, "default_lifetime")
		if !strings.HasPrefix(got, "Default lifetime (180d) is longer than the maximum lifetime (90d)") {
			t.Fatalf("error %q does not speak the form's words", got)
		}
		if strings.Contains(got, "_lifetime") {
			t.Fatalf("error %q names API fields", got)
		}
	})

	t.Run("not a duration", func(t *testing.T) {
		p := b.post(t, "/admin/policy", url.Values{"csrf_token": {csrf}, "default_lifetime": {"7d"}, "max_lifetime": {"about a month"}, "creation": {"everyone"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.Status)
		}
		if got, want := fieldError(t, p, "max_lifetime"), `Maximum lifetime: "about a month" is not a duration; write e.g. 30d, 12h or 2w`; got != want {
			t.Fatalf("error %q, want %q", got, want)
		}
		mustContain(t, p, `value="about a month"`)
	})

	t.Run("unknown token", func(t *testing.T) {
		const gone = "01a2b3c4-0000-4000-8000-000000000000"
		for _, path := range []string{"/tokens/" + gone, "/tokens/" + gone + "/edit", "/tokens/" + gone + "/regenerate"} {
			p := b.get(t, path)
			if p.Status != http.StatusNotFound {
				t.Fatalf("%s: status %d, want 404", path, p.Status)
			}
			mustContain(t, p, "This token no longer exists (it may have been revoked and cleaned up).")
			if strings.Contains(p.Body, "no token with id") || strings.Contains(p.Body, gone) {
				t.Fatalf("%s speaks API:\n%s", path, p.Body)
			}
		}
	})
}
