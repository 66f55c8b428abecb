package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func ssoFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSSOSectionIsCheckedAndSecretsLoaded(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const ok = "id: corp\n      issuer: https://idp.example.com\n      client_id: latchkey\n"
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"bad id", "sso:\n  providers:\n    - id: Corp!\n      issuer: https://idp.example.com\n      client_id: x\n      client_secret: y\n", "id must be"},
		{"id scim", "sso:\n  providers:\n    - id: scim\n      issuer: https://idp.example.com\n      client_id: x\n      client_secret: y\n", "reserved"},
		{"duplicate id", "sso:\n  providers:\n    - " + ok + "      client_secret: y\n    - " + ok + "      client_secret: y\n", "used twice"},
		{"no issuer", "sso:\n  providers:\n    - id: corp\n      client_id: x\n      client_secret: y\n", "issuer must be"},
		{"no client id", "sso:\n  providers:\n    - id: corp\n      issuer: https://idp.example.com\n      client_secret: y\n", "client_id is required"},
		{"no secret", "sso:\n  providers:\n    - " + ok, "LATCHKEY_SSO_CORP_CLIENT_SECRET"},
		{"both secrets", "sso:\n  providers:\n    - " + ok + "      client_secret: y\n      client_secret_file: " + secretFile + "\n", "not both"},
		{"groups without claim", "sso:\n  providers:\n    - " + ok + "      client_secret: y\n      roles: {admin: [x]}\n", "no claim"},
		{"only without provider", "sso:\n  only: true\n", "no provider"},
		{"unknown key", "sso:\n  providers:\n    - " + ok + "      client_secret: y\n      colour: blue\n", "colour"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := resolve(t, "--config", ssoFile(t, c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}

	cfg, err := resolve(t, "--config", ssoFile(t, "sso:\n  providers:\n    - "+ok+"      client_secret_file: "+secretFile+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.File.SSO.Providers[0]
	if p.ClientSecret != "s3cret" || p.Name != "corp" || strings.Join(p.Scopes, " ") != "openid profile email" {
		t.Fatalf("resolved provider: %+v", p)
	}
	t.Setenv("LATCHKEY_SSO_CORP_CLIENT_SECRET", "from-env")
	cfg, err = resolve(t, "--config", ssoFile(t, "sso:\n  providers:\n    - "+ok+"      scopes: [profile]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.File.SSO.Providers[0]; p.ClientSecret != "from-env" || p.Scopes[0] != "openid" {
		t.Fatalf("env secret / openid scope: %+v", p)
	}
}

func TestSSOTrustEmailIsReadAndMustBeABoolean(t *testing.T) {
	const p = "sso:\n  providers:\n    - id: corp\n      issuer: https://idp.example.com\n      client_id: latchkey\n      client_secret: y\n"
	cfg, err := resolve(t, "--config", ssoFile(t, p+"      trust_email: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.File.SSO.Providers[0].TrustEmail {
		t.Errorf("trust_email: true was not read: %+v", cfg.File.SSO.Providers[0])
	}
	if cfg, err = resolve(t, "--config", ssoFile(t, p)); err != nil || cfg.File.SSO.Providers[0].TrustEmail {
		t.Errorf("no trust_email: %v, TrustEmail %v, want false", err, cfg.File.SSO.Providers[0].TrustEmail)
	}
	if _, err := resolve(t, "--config", ssoFile(t, p+"      trust_email: sometimes\n")); err == nil || !strings.Contains(err.Error(), "line 7") {
		t.Errorf("trust_email: sometimes: %v, want an error pointing at its line", err)
	}
}
