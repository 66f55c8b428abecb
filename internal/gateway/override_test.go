package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestVerifyRefusesARequestThatNamesASecondMethod asks /auth/verify, in
// each proxy's style, about a POST the deploy rule allows, with every
// spelling of a method override an upstream framework may obey.
func TestVerifyRefusesARequestThatNamesASecondMethod(t *testing.T) {
	s := servertest.Start(t, trustLoopback, "--config", writeConfig(t, verifyRules))
	deployer := newFixture(t, s).token(t, "deploy-web", "service=web")
	const deploy = "/v1/services/web/deploy"
	tests := []struct {
		name   string
		uri    string
		header http.Header
		want   int
	}{
		{"no override", deploy, nil, http.StatusOK},
		{"override naming the same method", deploy, http.Header{"X-Http-Method-Override": {" post "}}, http.StatusOK},
		{"a query without _method", deploy + "?q=%5Fmethods&x=_method_", nil, http.StatusOK},
		{"X-HTTP-Method-Override", deploy, http.Header{"X-Http-Method-Override": {"DELETE"}}, http.StatusBadRequest},
		{"X-HTTP-Method", deploy, http.Header{"X-Http-Method": {"PUT"}}, http.StatusBadRequest},
		{"X-Method-Override", deploy, http.Header{"X-Method-Override": {"delete"}}, http.StatusBadRequest},
		{"underscored, as CGI reads it", deploy, http.Header{"X_http_method_override": {"DELETE"}}, http.StatusBadRequest},
		{"second value", deploy, http.Header{"X-Http-Method-Override": {"POST", "DELETE"}}, http.StatusBadRequest},
		{"_method", deploy + "?_method=DELETE", nil, http.StatusBadRequest},
		{"_method encoded", deploy + "?a=1&%5f%6Dethod=DELETE", nil, http.StatusBadRequest},
		{"_method malformed", deploy + "?_method=%zz", nil, http.StatusBadRequest},
		// PHP registers query keys with leading spaces dropped and "." and
		// " " read as "_" (Symfony's and Laravel's $_GET['_method']), and
		// header names with every non-alphanumeric character read as "_".
		{"PHP: .method", deploy + "?.method=DELETE", nil, http.StatusBadRequest},
		{"PHP: %2Emethod", deploy + "?%2Emethod=DELETE", nil, http.StatusBadRequest},
		{"PHP: space then _method", deploy + "?%20_method=DELETE", nil, http.StatusBadRequest},
		{"PHP: plus then _method", deploy + "?+_method=DELETE", nil, http.StatusBadRequest},
		{"PHP: spaces then .method", deploy + "?++.method=DELETE", nil, http.StatusBadRequest},
		{"PHP: dotted header", deploy, http.Header{"X.HTTP.Method.Override": {"DELETE"}}, http.StatusBadRequest},
		{"PHP: mixed separators", deploy, http.Header{"X.Http_Method-Override": {"DELETE"}}, http.StatusBadRequest},
		{"a query with a key ending in method", deploy + "?paymentmethod=card&x.methods=1", nil, http.StatusOK},
	}
	for _, st := range styles {
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				method, url, h := st.build(s.URL, http.MethodPost, tt.uri)
				for k, vs := range tt.header {
					h[k] = vs
				}
				h.Set("Authorization", bearer(deployer.Secret))
				resp, body := send(t, method, url, h)
				if resp.StatusCode != tt.want {
					t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tt.want)
				}
				// Envoy's form puts the query on Latchkey's own URL, whose
				// malformed escape the edge refuses first, also with 400.
				if tt.want == http.StatusBadRequest && !strings.Contains(body, "Latchkey judges one method") && !strings.Contains(body, "cannot be decoded") {
					t.Errorf("reason %q does not say why", body)
				}
			})
		}
	}
}
