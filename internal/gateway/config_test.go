package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
)

// startErr assembles a server as `latchkey serve` would and returns why it
// refused to start.
func startErr(t *testing.T, args ...string) error {
	t.Helper()
	var cfg config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Bind(fs)
	if err := fs.Parse(append([]string{"--data-dir", t.TempDir(), "--admin-password", "correct-horse-battery"}, args...)); err != nil {
		return err
	}
	if err := cfg.Resolve(fs); err != nil {
		return err
	}
	app, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard, "test")
	if err == nil {
		app.Close(context.Background())
	}
	return err
}

func TestBadGatewayConfigStopsStartAndNamesTheCulprit(t *testing.T) {
	tests := []struct {
		name, yaml string
		args       []string
		wantAll    []string
	}{
		{"unknown scope in a rule", `
routes:
  rules:
    - {name: fine, path: /a, scope: repo}
    - {name: broken, path: /b, scope: nope}
`, nil, []string{"rule 2 (broken)", `unknown scope "nope"`}},
		{"resource names a parameter the path lacks", `
routes:
  rules:
    - {path: "/repos/{owner}", scope: repo, resource: "{owner}/{repo}"}
`, nil, []string{"rule 1", "{repo}"}},
		{"unknown default", "routes:\n  default: allow\n", nil, []string{`unknown default "allow"`}},
		{"unknown preset", "routes:\n  preset: svn\n", nil, []string{`unknown preset "svn"`}},
		{"prefix taken by Latchkey", "upstreams:\n  - {path_prefix: /api/v2, url: 'http://127.0.0.1:1'}\n", nil,
			[]string{"upstreams[0]", "overlaps /api"}},
		{"missing url", "upstreams:\n  - {host: git.example.com}\n", nil, []string{"upstreams[0]", "url is missing"}},
		{"not http", "upstreams:\n  - {host: git.example.com, url: 'ftp://x'}\n", nil, []string{"http:// or https://"}},
		{"credentials in url", "upstreams:\n  - {host: a.test, url: 'http://u:p@x'}\n", nil, []string{"must not carry credentials"}},
		{"strip without prefix", "upstreams:\n  - {host: a.test, url: 'http://x', strip_prefix: true}\n", nil, []string{"strip_prefix needs a path_prefix"}},
		{"duplicate", "upstreams:\n  - {path_prefix: /git, url: 'http://x'}\n  - {path_prefix: /git/, url: 'http://y'}\n", nil,
			[]string{"upstreams[1]", "same host and path prefix as config file upstreams[0]"}},
		{"two catch-alls", "upstreams:\n  - {url: 'http://x'}\n", []string{"--upstream", "http://y"}, []string{"--upstream", "same host and path prefix"}},
		{"bad per-upstream rule", "upstreams:\n  - host: a.test\n    url: http://x\n    routes:\n      rules:\n        - {name: r, path: nope, scope: repo}\n", nil,
			[]string{"upstreams[0]", "rule 1 (r)", `must start with "/"`}},
		{"bad flag url", "", []string{"--upstream", "127.0.0.1:3000"}, []string{"--upstream", "absolute http://"}},
		{"bad realm", "", []string{"--gateway-realm", `a"b`}, []string{"--gateway-realm"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.yaml != "" {
				args = append([]string{"--config", writeConfig(t, tc.yaml)}, args...)
			}
			err := startErr(t, args...)
			if err == nil {
				t.Fatal("the server started; want an error")
			}
			for _, want := range tc.wantAll {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}
