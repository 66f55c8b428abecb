package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestAdminCreatesAndDeletesATrustPolicyInTheConsole(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "deployer", "", "member", "service")
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)
	p := b.get(t, "/admin/federation")
	mustContain(t, p, "No trust policies yet", "Workload federation")
	form := url.Values{"csrf_token": {csrfOf(t, p)}, "name": {"web-deploy"}, "issuer": {"https://token.actions.githubusercontent.com"},
		"audience": {"latchkey"}, "conditions": {""}, "service_account": {"deployer"}, "scopes": {"repo:read"}, "max_lifetime": {"15m"}}
	p = b.post(t, "/admin/federation", form)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "at least one claim condition") {
		t.Fatalf("policy without conditions: status %d\n%s", p.Status, p.Body)
	}
	form.Set("csrf_token", csrfOf(t, p))
	form.Set("conditions", "repository=acme/web\nref=refs/heads/main")
	p = b.post(t, "/admin/federation", form)
	mustContain(t, p, "web-deploy", "ref=refs/heads/main repository=acme/web", "repo:read", "15m0s")
	var list struct{ Items []map[string]any }
	s.JSON(t, http.MethodGet, "/api/v1/federation/policies", admin, nil, http.StatusOK, &list)
	if len(list.Items) != 1 {
		t.Fatalf("policies after the console created one: %v", list.Items)
	}
	p = b.post(t, "/admin/federation/"+list.Items[0]["id"].(string)+"/delete", url.Values{"csrf_token": {csrfOf(t, p)}})
	mustContain(t, p, "No trust policies yet")
}
