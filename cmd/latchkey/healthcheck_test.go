package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestHealthcheckExitsZeroOnlyWhenHealthzAnswers200 drives the command a
// container's HEALTHCHECK runs against a real server and against the ways
// a server can be unhealthy: every one of them exits 1.
func TestHealthcheckExitsZeroOnlyWhenHealthzAnswers200(t *testing.T) {
	s := servertest.Start(t)

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case "/moved/healthz":
			http.Redirect(w, r, s.URL+"/healthz", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer failing.Close()

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String() + "/healthz"
	closed.Close()

	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"real server", []string{"--url", s.URL + "/healthz"}, 0, "healthy: " + s.URL + "/healthz answered 200", ""},
		{"path defaults to /healthz", []string{"--url", s.URL}, 0, "answered 200", ""},
		{"503", []string{"--url", failing.URL + "/healthz"}, 1, "", "answered 503 Service Unavailable: shutting down"},
		{"redirect is not followed", []string{"--url", failing.URL + "/moved/healthz"}, 1, "", "answered 302 Found"},
		{"404", []string{"--url", failing.URL + "/nothing"}, 1, "", "answered 404 Not Found"},
		{"connection refused", []string{"--url", refused}, 1, "", "connection refused"},
		{"not a URL", []string{"--url", "127.0.0.1:8080"}, 1, "", "is not an http:// or https:// URL"},
		{"credentials in the URL", []string{"--url", "http://u:p@127.0.0.1:8080/"}, 1, "", "must not carry credentials"},
		{"zero timeout", []string{"--url", s.URL, "--timeout", "0s"}, 1, "", "--timeout must be positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LATCHKEY_LISTEN", "")
			var out, errOut bytes.Buffer
			code := run(append([]string{"healthcheck"}, c.args...), strings.NewReader(""), &out, &errOut)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, c.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), c.out) {
				t.Errorf("stdout %q, want it to contain %q", out.String(), c.out)
			}
			if !strings.Contains(errOut.String(), c.err) {
				t.Errorf("stderr %q, want it to contain %q", errOut.String(), c.err)
			}
			if c.code != 0 && strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", errOut.String())
			}
		})
	}
}

// TestHealthcheckFindsTheServerFromLatchkeyListen is the container's case:
// no --url, LATCHKEY_LISTEN=0.0.0.0:PORT, checked on loopback.
func TestHealthcheckFindsTheServerFromLatchkeyListen(t *testing.T) {
	s := servertest.Start(t)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LATCHKEY_LISTEN", "0.0.0.0:"+port)
	var out, errOut bytes.Buffer
	if code := run([]string{"healthcheck"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if want := "http://127.0.0.1:" + port + "/healthz"; !strings.Contains(out.String(), want) {
		t.Errorf("checked %q, want %s", out.String(), want)
	}
}

func TestHealthcheckURLFromListen(t *testing.T) {
	cases := map[string]string{
		"":               "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		":9000":          "http://127.0.0.1:9000/healthz",
		"[::]:9000":      "http://[::1]:9000/healthz",
		"10.1.2.3:8443":  "http://10.1.2.3:8443/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
	}
	for listen, want := range cases {
		got, err := healthcheckURL("", listen)
		if err != nil || got != want {
			t.Errorf("healthcheckURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	if _, err := healthcheckURL("", "8080"); err == nil || !strings.Contains(err.Error(), "give --url instead") {
		t.Errorf("listen without a port: err = %v", err)
	}
}
