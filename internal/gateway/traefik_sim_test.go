package gateway_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/latchkey/latchkey/internal/servertest"
)

// traefikForwardAuth reads the latchkey middleware of deploy/traefik.
type traefikForwardAuth struct {
	AuthRequestHeaders       []string `yaml:"authRequestHeaders"`
	AuthResponseHeadersRegex string   `yaml:"authResponseHeadersRegex"`
	TrustForwardHeader       bool     `yaml:"trustForwardHeader"`
}

func readTraefikConfig(t *testing.T) traefikForwardAuth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "traefik/dynamic.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		HTTP struct {
			Middlewares map[string]struct {
				ForwardAuth traefikForwardAuth `yaml:"forwardAuth"`
			} `yaml:"middlewares"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.HTTP.Middlewares["latchkey"].ForwardAuth
}

// traefikSim behaves as Traefik v3's ForwardAuth middleware does: it copies
// the client's headers to the auth request (all of them, or only
// authRequestHeaders), then sets X-Forwarded-Method, -Uri, -Host, -Proto
// and -For itself; a 2xx answer forwards the request with the headers
// matching authResponseHeadersRegex (removing the client's first), any
// other answer goes back to the client as it is.
type traefikSim struct {
	cfg      traefikForwardAuth
	verify   string
	upstream http.Handler
}

func (s *traefikSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ar, _ := http.NewRequest(http.MethodGet, s.verify, nil)
	if len(s.cfg.AuthRequestHeaders) == 0 {
		ar.Header = r.Header.Clone()
	} else {
		for _, k := range s.cfg.AuthRequestHeaders {
			if v := r.Header.Values(k); len(v) > 0 {
				ar.Header[http.CanonicalHeaderKey(k)] = v
			}
		}
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if !s.cfg.TrustForwardHeader {
		ar.Header.Set("X-Forwarded-For", host)
	}
	ar.Header.Set("X-Forwarded-Method", r.Method)
	ar.Header.Set("X-Forwarded-Proto", "http")
	ar.Header.Set("X-Forwarded-Host", r.Host)
	ar.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
	resp, err := http.DefaultClient.Do(ar)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	re := regexp.MustCompile(s.cfg.AuthResponseHeadersRegex) // as Traefik compiles it: case matters unless it says (?i)
	for k := range r.Header {
		if re.MatchString(k) {
			r.Header.Del(k)
		}
	}
	for k, v := range resp.Header {
		if re.MatchString(k) {
			r.Header[k] = v
		}
	}
	r.Header.Del("Authorization") // the latchkey-strip-credential middleware
	s.upstream.ServeHTTP(w, r)
}

// TestTraefikBehaviourCannotBeTurnedIntoABypass runs the attacks of the
// request-edge issue through a simulation of Traefik's ForwardAuth, with
// deploy/traefik's configuration and with a careless one (no
// authRequestHeaders: every client header copied).
func TestTraefikBehaviourCannotBeTurnedIntoABypass(t *testing.T) {
	s := servertest.Start(t, trustLoopback)
	f := newFixture(t, s)
	read := f.token(t, "read", "repo:read")
	office := s.CreateToken(t, f.alice, map[string]any{"name": "office", "scopes": []string{"repo"}, "ip_allowlist": []string{"10.20.30.40/32"}})
	var reached atomic.Int64
	var lastUser atomic.Value
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		lastUser.Store(r.Header.Get("X-Latchkey-User"))
		fmt.Fprint(w, "upstream")
	})
	deployed := readTraefikConfig(t)
	if len(deployed.AuthRequestHeaders) == 0 || deployed.TrustForwardHeader {
		t.Fatalf("deploy/traefik must set authRequestHeaders and leave trustForwardHeader off: %+v", deployed)
	}
	careless := deployed
	careless.AuthRequestHeaders = nil
	for name, cfg := range map[string]traefikForwardAuth{"deploy/traefik": deployed, "without authRequestHeaders": careless} {
		t.Run(name, func(t *testing.T) {
			px := httptest.NewServer(&traefikSim{cfg: cfg, verify: s.URL + "/auth/verify", upstream: upstream})
			t.Cleanup(px.Close)
			attacks := []struct {
				name   string
				method string
				path   string
				header http.Header
			}{
				{"push with repo:read and a forged X-Original-URI", "POST", "/acme/web.git/git-receive-pack",
					http.Header{"Authorization": {basic("x", read.Secret)}, "X-Original-Uri": {"/acme/web.git/git-upload-pack"}, "X-Original-Method": {"POST"}}},
				{"no token and a forged public X-Original-URI", "POST", "/acme/web.git/git-receive-pack",
					http.Header{"X-Original-Uri": {"/status"}, "X-Original-Method": {"GET"}}},
				{"forged X-Forwarded-For for an allowlisted token", "GET", "/acme/web.git/info/refs?service=git-upload-pack",
					http.Header{"Authorization": {bearer(office.Secret)}, "X-Forwarded-For": {"10.20.30.40"}}},
				{"forged Forwarded for an allowlisted token", "GET", "/acme/web.git/info/refs?service=git-upload-pack",
					http.Header{"Authorization": {bearer(office.Secret)}, "Forwarded": {"for=10.20.30.40"}}},
				{"forged X-Real-IP for an allowlisted token", "GET", "/acme/web.git/info/refs?service=git-upload-pack",
					http.Header{"Authorization": {bearer(office.Secret)}, "X-Real-Ip": {"10.20.30.40"}}},
				{"a fetch's POST that asks the service to run as DELETE", "POST", "/acme/web.git/git-upload-pack",
					http.Header{"Authorization": {basic("x", read.Secret)}, "X-Http-Method-Override": {"DELETE"}}},
			}
			for _, a := range attacks {
				before := reached.Load()
				resp, body := send(t, a.method, px.URL+a.path, a.header)
				if resp.StatusCode == 200 || reached.Load() != before {
					t.Errorf("%s: status %d %q; the request reached the upstream", a.name, resp.StatusCode, strings.TrimSpace(body))
				}
			}
			resp, _ := send(t, http.MethodGet, px.URL+"/acme/web.git/info/refs?service=git-upload-pack",
				http.Header{"Authorization": {basic("x", read.Secret)}, "X-Latchkey-User": {"admin"}})
			if resp.StatusCode != 200 || lastUser.Load() != "alice" {
				t.Errorf("a clone with repo:read: status %d, upstream saw user %v; want 200 as alice", resp.StatusCode, lastUser.Load())
			}
		})
	}
}
