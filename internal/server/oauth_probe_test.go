package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestDeviceAuthorizationRefusesRepeatedParameters: RFC 6749 §3.1 says a
// parameter is sent once. A scope hidden behind an empty first value
// ("scope=&scope=repo") must be refused, not silently dropped by reading
// only the first, and two client_ids are not one.
func TestDeviceAuthorizationRefusesRepeatedParameters(t *testing.T) {
	s := servertest.Start(t)
	for _, body := range []string{
		"client_id=latchkey-cli&scope=&scope=repo",
		"client_id=latchkey-cli&client_id=other",
	} {
		resp, err := s.Client.Post(s.URL+"/oauth2/device_authorization", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		decodeJSON(resp, &out)
		if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_request" || out["device_code"] != nil {
			t.Errorf("POST %s: %d %v; want 400 invalid_request", body, resp.StatusCode, out)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s: headers %v", body, resp.Header)
		}
	}
}
