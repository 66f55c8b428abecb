package api_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestOpenAPIPassesRedoclyLint lints the served OpenAPI document with
// Redocly's recommended rules: zero errors and zero warnings. Run it alone
// with `go test ./internal/api -run Redocly`; it needs node and the npm
// package @redocly/cli (.ci/run installs it, see testenv.NodeToolsDir).
func TestOpenAPIPassesRedoclyLint(t *testing.T) {
	node := testenv.LookPath(t, "node", "nodejs")
	cli := testenv.NodeModule(t, "@redocly/cli", "bin/cli.js")
	s := servertest.Start(t)
	status, doc, _ := s.Do(t, http.MethodGet, "/api/v1/openapi.json", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json = %d", status)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "openapi.json")
	config := filepath.Join(dir, "redocly.yaml")
	if err := os.WriteFile(spec, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("extends:\n  - recommended\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, cli, "lint", "--config", config, "--format", "stylish", spec)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	problems := regexp.MustCompile(`(?m)^\s*\d+:\d+\s+(error|warning)\s+.*$`).FindAll(out, -1)
	if err != nil || len(problems) > 0 || !regexp.MustCompile(`(?i)your API description is valid`).Match(out) {
		t.Fatalf("redocly lint (recommended) found problems in /api/v1/openapi.json (exit: %v):\n%s", err, out)
	}
	if regexp.MustCompile(`You have \d+ warning`).Match(out) {
		t.Fatalf("redocly lint reports warnings:\n%s", out)
	}
}
