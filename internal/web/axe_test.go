package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// The accessibility check: every console page, as the owner, an admin and a
// member, on a laptop and on a phone, is audited by axe-core (the engine of
// Lighthouse and of the accessibility suites people run against us) and
// must have no serious or critical violation, nor be wider than the window.
//
// Pages are found by crawling the console's own links from /tokens, so a
// page added later (and linked from the menu) is audited without touching
// this test; a few pages no link leads to (errors, a token just created, a
// form sent with mistakes) are added by hand. Run it alone with
// `go test ./internal/web -run Axe`. axe-core is the npm package installed
// by .ci/run (see testenv.NodeToolsDir); LATCHKEY_AXE names another
// axe.min.js.

// axeViolation is what the test reports of one broken rule on one page.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun runs every axe-core rule (best practices too) and returns the
// violations whose impact is one of impacts (%s: a JSON array).
const axeRun = `(async () => {
  const r = await axe.run(document, {resultTypes: ["violations"]});
  return r.violations.filter(v => %s.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + (n.failureSummary ? " — " + n.failureSummary.replace(/\s+/g, " ") : "")),
  }));
})()`

func axeSource(t *testing.T) string {
	path := os.Getenv("LATCHKEY_AXE")
	if path == "" {
		path = testenv.NodeModule(t, "axe-core", "axe.min.js")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		testenv.Missing(t, "read axe-core: %v", err)
	}
	return string(src)
}

// audit runs axe on the page open in b and returns its serious and critical
// violations, one line each.
func (b *tab) audit(axe string) []string {
	b.t.Helper()
	return b.auditImpacts(axe, `["serious", "critical"]`)
}

// auditEvery is audit at every impact level, minor and moderate too.
func (b *tab) auditEvery(axe string) []string {
	b.t.Helper()
	return b.auditImpacts(axe, `["minor", "moderate", "serious", "critical"]`)
}

func (b *tab) auditImpacts(axe, impacts string) []string {
	b.t.Helper()
	if !b.eval(`typeof axe !== "undefined"`) {
		b.do(chromedp.Evaluate[chromedp.Void](axe))
	}
	vs, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]axeViolation](fmt.Sprintf(axeRun, impacts), chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", b.location(), err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s [%s] %s:\n      %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n      ")))
	}
	return out
}

// consoleLinks returns the same-origin console paths linked from the page
// open in b, without those that act (log out) or leave the console.
func (b *tab) consoleLinks() []string {
	b.t.Helper()
	hrefs, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("a[href]")].map(a => a.href)`))
	if err != nil {
		b.t.Fatalf("links of %s: %v", b.location(), err)
	}
	var out []string
	for _, h := range hrefs {
		u, err := url.Parse(h)
		if err != nil || !strings.HasPrefix(h, b.base) || u.Path == "" {
			continue
		}
		p := u.Path
		if u.RawQuery != "" {
			p += "?" + u.RawQuery
		}
		if strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, "/api/") || p == "/logout" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// crawl visits the console from start, breadth first, calling visit on
// each page reached (at most limit), and returns them. Query variants of
// one path (filters, pages of a list) are visited once.
func (b *tab) crawl(start []string, limit int, visit func(path string)) []string {
	seen := map[string]int{}
	queue := append([]string(nil), start...)
	var pages []string
	for len(queue) > 0 && len(pages) < limit {
		p := queue[0]
		queue = queue[1:]
		// One page per shape: the pages of every token look alike, so two
		// of each (an active and a revoked one, say) are enough; filters
		// and pages of one list are visited once.
		key, max := pageShape(p)
		if seen[key] >= max {
			continue
		}
		seen[key]++
		b.open(p)
		pages = append(pages, p)
		queue = append(queue, b.consoleLinks()...)
		visit(p)
	}
	return pages
}

var idSegment = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9A-HJKMNP-TV-Z]{26}$`)

// pageShape is the path with ids replaced by {id} and the query by "?",
// and how many pages of that shape to visit.
func pageShape(p string) (string, int) {
	path, query, _ := strings.Cut(p, "?")
	segs := strings.Split(path, "/")
	ids := 0
	for i, s := range segs {
		if idSegment.MatchString(s) {
			segs[i] = "{id}"
			ids++
		}
	}
	key := strings.Join(segs, "/")
	if query != "" && !strings.Contains(query, "user=") {
		key += "?"
	}
	if ids > 0 {
		return key, 2
	}
	return key, 1
}

func TestAxeFindsNoSeriousViolationOnAnyConsolePage(t *testing.T) {
	axe := axeSource(t)
	s := servertest.Start(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "ada", "ada-password-1", "admin", "person")
	s.CreateUser(t, owner, "mia", "mia-password-1", "member", "person")
	svc := s.CreateUser(t, owner, "deploy-bot", "", "member", "service")
	// Tokens in every state, so each list and page shows its variants.
	for _, who := range []struct{ user, password string }{{servertest.AdminUser, servertest.AdminPassword}, {"ada", "ada-password-1"}, {"mia", "mia-password-1"}} {
		sess := s.Login(t, who.user, who.password)
		s.CreateToken(t, sess, map[string]any{"name": "ci", "expires_in": "96h", "scopes": []string{"repo:read"}})
		s.CreateToken(t, sess, map[string]any{"name": "backup", "expires_in": "30d", "scopes": []string{"job"}})
		gone := s.CreateToken(t, sess, map[string]any{"name": "old", "expires_in": "7d"})
		s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+gone.ID(), sess, nil, http.StatusNoContent, nil)
	}

	roles := []struct{ name, user, password string }{
		{"owner", servertest.AdminUser, servertest.AdminPassword},
		{"admin", "ada", "ada-password-1"},
		{"member", "mia", "mia-password-1"},
	}
	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			var pages []string
			for _, vp := range []struct {
				name string
				vp   viewport
			}{{"desktop", desktop}, {"phone", phone}} {
				t.Run(vp.name, func(t *testing.T) {
					b := openChromium(t, s.URL, vp.vp)
					// Signed out: the login page and an unknown address.
					found := map[string][]string{}
					for _, p := range []string{"/login", "/no-such-page"} {
						b.open(p)
						b.fitsWidth()
						if v := b.audit(axe); len(v) > 0 {
							found["signed out "+p] = v
						}
					}
					b.login(role.user, role.password)
					check := func(p string) {
						b.fitsWidth()
						if v := b.audit(axe); len(v) > 0 {
							found[p] = v
						}
					}
					if pages == nil { // the laptop pass finds the pages
						extra := []string{"/no-such-page", "/tokens/no-such-token", "/admin/users/no-such-user"}
						if role.name != "member" {
							extra = append(extra, "/tokens/new?user="+svc)
						}
						pages = b.crawl(append([]string{"/tokens", "/admin/users"}, extra...), 60, check)
					} else {
						for _, p := range pages {
							b.open(p)
							check(p)
						}
					}
					// Pages that follow a form: the form with mistakes, and a
					// token just created (its secret shown once).
					b.open("/tokens/new")
					b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#name").removeAttribute("required")`))
					b.submit(`form button[type=submit].btn-primary`)
					b.fitsWidth()
					if v := b.audit(axe); len(v) > 0 {
						found["/tokens/new (sent empty)"] = v
					}
					b.open("/tokens/new")
					b.typeInto("#name", "axe-"+vp.name)
					b.submit(`form button[type=submit].btn-primary`)
					b.see("Token created")
					b.fitsWidth()
					if v := b.audit(axe); len(v) > 0 {
						found["token created"] = v
					}
					// A session token for the CLI, shown once after the
					// button of /cli-auth is pressed.
					b.open("/cli-auth")
					b.submit(`form button[type=submit].btn-primary`)
					b.see("Session token, to paste")
					b.fitsWidth()
					if v := b.audit(axe); len(v) > 0 {
						found["cli-auth token shown"] = v
					}
					if len(found) > 0 {
						var keys []string
						for k := range found {
							keys = append(keys, k)
						}
						sort.Strings(keys)
						var msg strings.Builder
						for _, k := range keys {
							fmt.Fprintf(&msg, "\n  %s:\n    %s", k, strings.Join(found[k], "\n    "))
						}
						t.Errorf("axe-core finds serious or critical violations as %s (%dx%d) on %d of %d pages:%s",
							role.name, vp.vp.W, vp.vp.H, len(found), len(pages)+5, msg.String())
					}
					t.Logf("audited %d pages as %s: %v", len(pages)+5, role.name, pages)
				})
			}
		})
	}
}
