package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestIPAllowlistIsSetEditedAndClearedInTheConsole(t *testing.T) {
	s := servertest.Start(t)
	b := newBrowser(t, s)
	b.login(t, servertest.AdminUser, servertest.AdminPassword)

	form := b.get(t, "/tokens/new")
	mustContain(t, form, `<label for="ip_allowlist">Allowed IP addresses`, `aria-describedby="ip_allowlist-help"`, `id="ip_allowlist-help"`)

	bad := newToken(t, b, url.Values{"name": {"fenced"}, "expiration": {"7d"}, "scope": {"repo:read"}, "ip_allowlist": {"10.0.0.0/8\n10.0.0.300"}})
	if bad.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad address: status %d, want 422:\n%s", bad.Status, bad.Body)
	}
	m := regexp.MustCompile(`<p class="field-error" id="ip_allowlist-error">([^<]*)</p>`).FindStringSubmatch(bad.Body)
	if m == nil || m[1] != "10.0.0.300 is not an IP address or CIDR range; write e.g. 10.20.0.0/16 or 192.0.2.7" {
		t.Fatalf("no plain-words error next to the allowlist box:\n%s", bad.Body)
	}
	mustContain(t, bad, ">10.0.0.0/8\n10.0.0.300</textarea>", `aria-invalid="true" aria-describedby="ip_allowlist-error`)

	p := newToken(t, b, url.Values{"name": {"fenced"}, "expiration": {"7d"}, "scope": {"repo:read"}, "ip_allowlist": {"10.20.0.0/16, 192.0.2.7"}})
	mustContain(t, p, "Token created")
	secret, id := secretOf(t, p), tokenIDOf(t, p)
	// The test client calls from 127.0.0.1, which the list leaves out.
	if got := apiStatus(t, s, secret); got == http.StatusOK {
		t.Fatal("a token fenced to 10.20.0.0/16 and 192.0.2.7 worked from 127.0.0.1")
	}
	mustContain(t, b.get(t, "/tokens/"+id), "<code>10.20.0.0/16</code>", "<code>192.0.2.7/32</code>")

	edit := b.get(t, "/tokens/"+id+"/edit")
	mustContain(t, edit, ">10.20.0.0/16\n192.0.2.7/32</textarea>")
	p = b.post(t, "/tokens/"+id+"/edit", url.Values{"csrf_token": {csrfOf(t, edit)}, "access": {"specific"}, "scope": {"repo:read"},
		"ip_allowlist": {"127.0.0.0/8\nnot-an-address"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "not-an-address is not an IP address or CIDR range") {
		t.Fatalf("bad edit: status %d:\n%s", p.Status, p.Body)
	}
	p = b.post(t, "/tokens/"+id+"/edit", url.Values{"csrf_token": {csrfOf(t, edit)}, "access": {"specific"}, "scope": {"repo:read"},
		"ip_allowlist": {"127.0.0.0/8"}})
	mustContain(t, p, "The token was updated", "<code>127.0.0.0/8</code>")
	if got := apiStatus(t, s, secret); got != http.StatusOK {
		t.Fatalf("after allowing 127.0.0.0/8: API status %d, want 200", got)
	}

	p = b.post(t, "/tokens/"+id+"/edit", url.Values{"csrf_token": {csrfOf(t, edit)}, "access": {"specific"}, "scope": {"repo:read"},
		"ip_allowlist": {""}})
	mustContain(t, p, "The token was updated")
	if strings.Contains(p.Body, "Allowed from") {
		t.Fatal("the cleared allowlist is still shown on the token page")
	}
	mustContain(t, b.get(t, "/tokens/"+id+"/edit"), "></textarea>")
}
