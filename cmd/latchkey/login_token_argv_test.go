package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestLoginWithTheTokenOnTheCommandLineWarnsItIsVisible: `latchkey login
// URL --token lk_pat_...` puts the secret in the shell history and in the
// process list every local user can read. It still works (scripts rely on
// it) but says so once, with the ways that keep the token out of sight;
// `--token -` (standard input) gets no such warning.
func TestLoginWithTheTokenOnTheCommandLineWarnsItIsVisible(t *testing.T) {
	const secret = "lk_pat_000000000000000000000000000000000000"
	srv := meServer(t, "alice")
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		warn  bool
	}{
		{"literal", []string{"--token", secret}, "", true},
		{"literal with =", []string{"--token=" + secret}, "", true},
		{"standard input", []string{"--token", "-"}, secret + "\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			useServer(t, "", "")
			var out, errb bytes.Buffer
			if code := run(append([]string{"login", srv.URL}, c.args...), strings.NewReader(c.stdin), &out, &errb); code != 0 {
				t.Fatalf("login: exit %d\n%s%s", code, out.String(), errb.String())
			}
			warned := strings.Contains(errb.String(), "process list") && strings.Contains(errb.String(), "shell history")
			if warned != c.warn {
				t.Errorf("login %v: warned=%v, want %v; stderr:\n%s", c.args, warned, c.warn, errb.String())
			}
			if c.warn {
				if n := strings.Count(errb.String(), "\n"); n != 1 || !strings.Contains(errb.String(), "--token -") || !strings.Contains(errb.String(), "LATCHKEY_TOKEN") {
					t.Errorf("the warning is not one line naming --token - and LATCHKEY_TOKEN:\n%s", errb.String())
				}
				if strings.Contains(errb.String(), secret) {
					t.Errorf("the warning repeats the token: %s", errb.String())
				}
			}
			if !strings.Contains(out.String(), "Logged in") {
				t.Errorf("login did not log in: %s", out.String())
			}
		})
	}
}
