package sts

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUnknownOAuthPathsAnswerOAuthErrors: an OAuth client that asks for an
// endpoint this server lacks (revocation, authorization) reads the answer
// as RFC 6749 §5.2 JSON, not net/http's text "404 page not found".
func TestUnknownOAuthPathsAnswerOAuthErrors(t *testing.T) {
	mux := http.NewServeMux()
	MountNotFound(mux)
	for _, path := range []string{"/oauth2/revoke", "/oauth2/authorize", "/oauth2/", "/oauth2/token/x", "/oauth2/%0a"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader("token=x")))
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		err := json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != "application/json" || err != nil ||
			e.Error != "invalid_request" || !strings.Contains(e.Description, TokenPath) || strings.ContainsAny(e.Description, "\n\r") {
			t.Errorf("%s: %d %s %s; want 404 RFC 6749 JSON naming %s", path, w.Code, w.Header().Get("Content-Type"), w.Body, TokenPath)
		}
	}
}

// TestFormErrorsSayWhatIsWrongWithTheBody: a body past the limit is said
// to be too large, a malformed escape to be malformed (not too large).
func TestFormErrorsSayWhatIsWrongWithTheBody(t *testing.T) {
	for body, says := range map[string]string{
		strings.Repeat("a", maxFormBytes+1): "larger than 64 KiB",
		"grant_type=%zz":                    `invalid URL escape "%zz"`,
	} {
		r := httptest.NewRequest(http.MethodPost, TokenPath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, maxFormBytes)
		err := r.ParseForm()
		if e := formError(err); err == nil || e.code != "invalid_request" || !strings.Contains(e.description, says) {
			t.Errorf("body of %d bytes: ParseForm %v gives %v; want it to say %q", len(body), err, e, says)
		}
	}
}
