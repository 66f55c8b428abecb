package api_test

import (
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAPIDocsAreServedFromTheBinary loads /api/v1/docs as a browser would:
// the page and every script and stylesheet it references come from this
// server (no other origin, so it works offline), with the right content
// types, the assets cacheable for good, and the page's CSP allowing only
// this origin. The assets are the unmodified upstream files (their SRI
// digests are the ones huma pins).
func TestAPIDocsAreServedFromTheBinary(t *testing.T) {
	s := servertest.Start(t)
	status, body, h := s.Do(t, http.MethodGet, "/api/v1/docs", "", nil)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /api/v1/docs = %d %s", status, h.Get("Content-Type"))
	}
	page := string(body)
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+`).FindString(page); m != "" {
		t.Errorf("the docs page references another origin: %s", m)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q should allow scripts from this origin only", csp)
	}
	refs := regexp.MustCompile(`(?:src|href|apiDescriptionUrl)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("the page references %d resources; want the script, the stylesheet and the OpenAPI document:\n%s", len(refs), page)
	}
	want := map[string]struct{ contentType, sri string }{
		".js":   {"text/javascript", "xjOcq9PZ/k+pGtPS/xcsCRXGjKKfTlIa4H1IYEnC+97jNa6sAMWTNrV6hY08W3GL"},
		".css":  {"text/css", "iVQBHadsD+eV0M5+ubRCEVXrXEBj+BqcuwjUwPoVJc0Pb1fmrhYSAhL+BFProHdV"},
		".yaml": {"application/openapi+yaml", ""},
	}
	for _, ref := range refs {
		u, err := url.Parse(ref[1])
		if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			t.Errorf("reference %q is not a path on this server", ref[1])
			continue
		}
		st, b, rh := s.Do(t, http.MethodGet, u.Path, "", nil)
		ext := u.Path[strings.LastIndex(u.Path, "."):]
		w := want[ext]
		if st != http.StatusOK || !strings.HasPrefix(rh.Get("Content-Type"), w.contentType) {
			t.Errorf("GET %s = %d %q; want 200 %s", u.Path, st, rh.Get("Content-Type"), w.contentType)
			continue
		}
		if w.sri != "" {
			sum := sha512.Sum384(b)
			if got := base64.StdEncoding.EncodeToString(sum[:]); got != w.sri {
				t.Errorf("%s has sha384-%s; want the upstream file sha384-%s", u.Path, got, w.sri)
			}
			if cc := rh.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("%s Cache-Control %q; want it cacheable for good (the version is in the URL)", u.Path, cc)
			}
		}
	}
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/docs/assets/elements-9.0.15/nope.js", "", nil); st != http.StatusNotFound {
		t.Errorf("unknown asset: %d, want 404", st)
	}
}
