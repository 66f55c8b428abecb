package server_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
)

var refusalRef = regexp.MustCompile(`look up refusal ([A-Za-z0-9]+) in the server log`)

// Anyone can mint a token of a public issuer (any GitHub repository mints
// GitHub Actions tokens with any audience). A token of a trusted issuer
// that matches no policy is refused without naming the organisation's
// policies, the claims they check, their patterns or their audience; the
// answer carries a reference to the server log line that says all of it.
// A caller who names an existing policy learns which of its checks failed,
// never the configured values.
func TestFederatedRefusalNamesNoPolicyAndPointsToTheLog(t *testing.T) {
	s, log := servertest.StartLogged(t, fedSecretArg)
	is := oidctest.Start(t)
	fedSetup(t, s, is, "deploy-prod", map[string]string{"repository": "acme/secret-infra", "ref": "refs/heads/release"})
	fedSetup(t, s, is, "web-preview", map[string]string{"repository": "acme/web-preview", "environment": "preview-env"})
	configured := []string{"acme/secret-infra", "refs/heads/release", "acme/web-preview", "preview-env", `"latchkey"`}
	policies := []string{"deploy-prod", "web-preview"}
	forged := func(aud string) string {
		return is.Mint(t, oidctest.GitHubClaims("mallory/fork", "refs/heads/dev", "", aud))
	}
	for _, c := range []struct {
		name  string
		jwt   string
		extra url.Values
		leaks []string
		says  []string
		logs  []string // what the log line of the refusal must give
	}{
		{"wrong claims", forged("latchkey"), nil,
			append(append([]string{"repository", "environment", "condition:"}, policies...), configured...),
			[]string{"issuer is trusted", "no enabled policy matches its audience and claims"},
			[]string{"deploy-prod", "refs/heads/release", "web-preview", "preview-env"}},
		{"wrong audience", forged("sts.amazonaws.com"), nil,
			append(append([]string{"repository", "environment", "condition:"}, policies...), configured...),
			[]string{"issuer is trusted", "no enabled policy matches its audience and claims"},
			[]string{"deploy-prod", "web-preview", `requires audience \"latchkey\"`}},
		{"named policy, wrong claims", forged("latchkey"), url.Values{"policy": {"deploy-prod"}},
			append([]string{"web-preview"}, configured...),
			[]string{"deploy-prod", "condition:ref"},
			[]string{"deploy-prod", "refs/heads/release"}},
		{"named policy, wrong audience", forged("sts.amazonaws.com"), url.Values{"policy": {"deploy-prod"}},
			append([]string{"web-preview"}, configured...),
			[]string{"deploy-prod", "audience"},
			[]string{"deploy-prod", `requires audience \"latchkey\"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, out := exchange(t, s, c.jwt, c.extra)
			desc, _ := out["error_description"].(string)
			if st != 400 || out["error"] != "invalid_grant" {
				t.Fatalf("answer %d %v; want 400 invalid_grant", st, out)
			}
			for _, leak := range c.leaks {
				if strings.Contains(desc, leak) {
					t.Errorf("the refusal tells an unauthenticated caller %q: %s", leak, desc)
				}
			}
			for _, want := range c.says {
				if !strings.Contains(desc, want) {
					t.Errorf("the refusal does not say %q: %s", want, desc)
				}
			}
			m := refusalRef.FindStringSubmatch(desc)
			if m == nil {
				t.Fatalf("the refusal gives no reference to look up: %s", desc)
			}
			var line string
			for _, l := range strings.Split(log.String(), "\n") {
				if strings.Contains(l, "refusal="+m[1]) {
					line = l
				}
			}
			if !strings.Contains(line, "federated exchange refused") {
				t.Fatalf("no log line says refusal %s: %s", m[1], log.String())
			}
			for _, want := range c.logs {
				if !strings.Contains(line, want) {
					t.Errorf("the log line of refusal %s does not give %q: %s", m[1], want, line)
				}
			}
		})
	}
}

// TestFederatedRefusalPointsToNoLogLineItDidNotWrite: the refusal's log
// line is at level INFO. A server run with --log-level warn (as
// servertest.Start runs it) never writes it, so the answer must not send
// the caller to an admin to look up a reference nobody can find; it says
// where the reason is logged instead.
func TestFederatedRefusalPointsToNoLogLineItDidNotWrite(t *testing.T) {
	s := servertest.Start(t, fedSecretArg) // logs from level WARN up
	is := oidctest.Start(t)
	fedSetup(t, s, is, "deploy-prod", map[string]string{"repository": "acme/secret-infra"})
	st, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("mallory/fork", "refs/heads/dev", "", "latchkey")), nil)
	desc, _ := out["error_description"].(string)
	if st != 400 || refusalRef.MatchString(desc) || !strings.Contains(desc, "--log-level info") {
		t.Errorf("refusal by a server that logs only warnings: %d %s; want 400 naming no reference to a log line it did not write, and saying it logs the reason at --log-level info", st, desc)
	}
}
