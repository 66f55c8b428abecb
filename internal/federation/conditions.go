package federation

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/latchkey/latchkey/internal/store"
)

// Limits on a policy's conditions.
const (
	maxConditions     = 32
	maxConditionValue = 512
)

// ValidateConditions checks that every condition names a claim and is a
// valid exact value or glob pattern.
func ValidateConditions(c map[string]string) error {
	if len(c) > maxConditions {
		return fmt.Errorf("at most %d conditions; got %d", maxConditions, len(c))
	}
	for claim, pattern := range c {
		if claim == "" || len(claim) > 100 {
			return fmt.Errorf("a condition needs a claim name of 1 to 100 characters")
		}
		if isRegistered(claim) {
			return fmt.Errorf("claim %q is checked by Latchkey itself (iss, aud, exp, nbf, iat, jti); set issuer and audience on the policy instead", claim)
		}
		if pattern == "" || len(pattern) > maxConditionValue {
			return fmt.Errorf("condition on %q needs a value or pattern of 1 to %d characters", claim, maxConditionValue)
		}
		if _, err := path.Match(pattern, ""); err != nil {
			return fmt.Errorf("condition on %q: %q is not a valid glob pattern (use * ? [..] and \\ to escape): %v", claim, pattern, err)
		}
	}
	return nil
}

func isRegistered(claim string) bool {
	switch claim {
	case "iss", "aud", "exp", "nbf", "iat", "jti":
		return true
	}
	return false
}

// MatchPattern reports whether value matches an exact value or glob pattern.
func MatchPattern(pattern, value string) bool {
	if pattern == value {
		return true
	}
	ok, err := path.Match(pattern, value)
	return err == nil && ok
}

// Match checks t against one policy: issuer, audience, then every claim
// condition in name order, and says which check failed first. The
// error's Msg names p and the check but none of p's configured values;
// its Detail, for the server log, gives them.
func Match(p *store.FederationPolicy, t *Token) *Error {
	if p.Issuer != t.Issuer {
		return mismatch("issuer", fmt.Sprintf("the token's issuer is not the issuer of policy %q", p.Name),
			fmt.Sprintf("policy %q trusts issuer %s, not the token's issuer %s", p.Name, p.Issuer, printable(t.Issuer)))
	}
	aud := printable(strings.Join(t.Audience, " "))
	if !slices.Contains(t.Audience, p.Audience) {
		return mismatch("audience",
			fmt.Sprintf("the token's audience %q is not the one policy %q requires; request the token with the audience your Latchkey admin set on that policy", aud, p.Name),
			fmt.Sprintf("policy %q requires audience %q; the token's audience is %q", p.Name, printable(p.Audience), aud))
	}
	names := make([]string, 0, len(p.Conditions))
	for k := range p.Conditions {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, claim := range names {
		values, ok := t.claimStrings(claim)
		if !ok {
			return mismatch("condition:"+claim, fmt.Sprintf("the token has no %q claim, which policy %q checks", claim, p.Name),
				fmt.Sprintf("policy %q requires claim %q to match %q; the token has no such claim", p.Name, claim, printable(p.Conditions[claim])))
		}
		if !slices.ContainsFunc(values, func(v string) bool { return MatchPattern(p.Conditions[claim], v) }) {
			got := printable(strings.Join(values, ","))
			return mismatch("condition:"+claim, fmt.Sprintf("claim %q = %q does not match the condition of policy %q", claim, got, p.Name),
				fmt.Sprintf("policy %q requires claim %q to match %q; the token's is %q", p.Name, claim, printable(p.Conditions[claim]), got))
		}
	}
	return nil
}

// claimStrings returns a claim as strings: a string, number or boolean as
// one value, an array of them as several; false when absent or an object.
func (t *Token) claimStrings(name string) ([]string, bool) {
	raw, ok := t.Claims[name]
	if !ok {
		return nil, false
	}
	if s, ok := scalar(raw); ok {
		return []string{s}, true
	}
	if arr, ok := raw.([]any); ok {
		var out []string
		for _, v := range arr {
			if s, ok := scalar(v); ok {
				out = append(out, s)
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// informative are claims worth keeping with an issued token and in the
// audit log when present: who ran what, where (GitHub Actions, GitLab CI,
// Kubernetes).
var informative = []string{
	"sub", "repository", "repository_owner", "repository_id", "run_id", "run_number", "run_attempt", "workflow",
	"workflow_ref", "job_workflow_ref", "ref", "ref_type", "sha", "event_name", "environment", "actor",
	"project_path", "namespace_path", "pipeline_id", "pipeline_source", "job_id", "user_login", "runner_id",
}

// MatchedClaims are the claims kept with a token issued by p: the subject,
// every claim p's conditions check, and the informative claims present.
func MatchedClaims(p *store.FederationPolicy, t *Token) map[string]string {
	out := map[string]string{}
	add := func(name string) {
		if vs, ok := t.claimStrings(name); ok && len(out) < 64 {
			out[name] = printable(strings.Join(vs, ","))
		}
	}
	for name := range p.Conditions {
		add(name)
	}
	for _, name := range informative {
		add(name)
	}
	if k, ok := t.Claims["kubernetes.io"].(map[string]any); ok {
		if ns, ok := k["namespace"].(string); ok {
			out["kubernetes.io/namespace"] = printable(ns)
		}
		if sa, ok := k["serviceaccount"].(map[string]any); ok {
			if n, ok := sa["name"].(string); ok {
				out["kubernetes.io/serviceaccount"] = printable(n)
			}
		}
	}
	return out
}

// printable keeps at most 200 characters of s and drops control and
// format characters (bidirectional overrides, zero-width marks) and the
// line and paragraph separators, so claim
// values are safe in messages and logs. It cuts between characters, never
// inside one: the answer stays valid UTF-8.
func printable(s string) string {
	const max = 200
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			continue
		}
		if n == max {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
