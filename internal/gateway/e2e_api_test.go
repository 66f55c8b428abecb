package gateway_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

func TestAPIOverNginxWithForwardAuth(t *testing.T) {
	api, hits := echoUpstream(t, "api")
	s := servertest.Start(t, trustLoopback, "--config", filepath.Join(deployDir, "nginx/latchkey.yaml"))
	port := freePort(t)
	startNginx(t, port, map[string]string{"api.conf": renderTemplate(t, "nginx/api.conf", [][2]string{
		{"listen 8001;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
		{"http://127.0.0.1:9000", api.URL},
		{"http://127.0.0.1:8080", s.URL},
	})})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	f := newFixture(t, s)
	web := f.token(t, "deploy-web", "service=web")

	resp, body := send(t, http.MethodPost, base+"/v1/services/web/deploy", http.Header{
		"Authorization": {bearer(web.Secret)}, "X-Latchkey-User": {"mallory"}, "X-Latchkey-Scopes": {"*"},
	})
	if resp.StatusCode != 200 {
		t.Fatalf("deploy web: status %d: %s", resp.StatusCode, body)
	}
	e := decodeEcho(t, body)
	for k, want := range map[string]string{
		"X-Latchkey-User": "alice", "X-Latchkey-User-Id": f.aliceID, "X-Latchkey-Token-Id": web.ID(),
		"X-Latchkey-Token-Kind": "pat", "X-Latchkey-Scopes": "service=web", "Authorization": "",
	} {
		if got := strings.Join(e.Header.Values(k), ","); got != want {
			t.Errorf("the API saw %s %q, want %q", k, got, want)
		}
	}
	if _, err := time.Parse(time.RFC3339, resp.Header.Get("Latchkey-Token-Expiration")); err != nil {
		t.Errorf("Latchkey-Token-Expiration through nginx: %v", err)
	}

	resp, body = send(t, http.MethodGet, base+"/v1/health", http.Header{"X-Latchkey-User": {"mallory"}})
	if e := decodeEcho(t, body); resp.StatusCode != 200 || e.Header.Get("X-Latchkey-User") != "" {
		t.Errorf("public health route: status %d, the API saw X-Latchkey-User %q; want 200 and none", resp.StatusCode, e.Header.Get("X-Latchkey-User"))
	}

	before := hits.Load()
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{"POST", "/v1/services/db/deploy", bearer(web.Secret), 403},
		{"GET", "/v1/jobs/42", bearer(web.Secret), 403},
		{"GET", "/v1/services/web", "", 401},
		{"GET", "/v1/services/web", bearer("lk_pat_nonsense"), 401},
		{"GET", "/v1/unknown", bearer(web.Secret), 403},
	} {
		resp, _ := send(t, tc.method, base+tc.path, http.Header{"Authorization": {tc.auth}})
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
		if tc.want == 401 && (!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="latchkey"`) || len(resp.Header.Values("WWW-Authenticate")) != 1) {
			t.Errorf("%s %s: WWW-Authenticate %q, want Latchkey's Basic challenge passed on by nginx, once", tc.method, tc.path, resp.Header.Values("WWW-Authenticate"))
		}
	}
	if n := hits.Load() - before; n != 0 {
		t.Errorf("the API got %d refused requests, want 0", n)
	}
}
