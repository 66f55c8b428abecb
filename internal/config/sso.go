package config

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
)

// SSO is the sso: section of the config file: OIDC providers people sign in
// with, and whether password login stays on.
type SSO struct {
	Providers []SSOProvider `yaml:"providers,omitempty"`
	// Only turns password login off for everyone but the BreakGlass owners.
	Only bool `yaml:"only,omitempty"`
	// BreakGlass names local owners who may still use a password when Only
	// is true, so an outage of the identity provider cannot lock everyone out.
	BreakGlass []string `yaml:"break_glass,omitempty"`
}

// SSOProvider is one OpenID Connect provider. Sign-in starts at
// /auth/sso/{ID} and returns to /auth/sso/{ID}/callback.
type SSOProvider struct {
	ID               string   `yaml:"id"`
	Name             string   `yaml:"name"` // the button says "Sign in with <Name>"
	Issuer           string   `yaml:"issuer"`
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret,omitempty"`
	ClientSecretFile string   `yaml:"client_secret_file,omitempty"`
	Scopes           []string `yaml:"scopes,omitempty"`
	// UsernameClaim names the claim that becomes the user name; default
	// preferred_username, then email.
	UsernameClaim string `yaml:"username_claim,omitempty"`
	// AllowedDomains, when set, refuses people whose verified email is in
	// none of these domains. Entries are ASCII (an internationalised
	// domain in its punycode xn-- form), compared ignoring ASCII case.
	AllowedDomains []string `yaml:"allowed_domains,omitempty"`
	// TrustEmail takes an email address the provider sends without an
	// email_verified claim as verified, for allowed_domains and for a user
	// name that comes from the address. Without it only email_verified true
	// is a verification. Set it only for a provider that never issues an
	// address it has not verified, e.g. Google Workspace or Entra ID with
	// only verified domains. email_verified false is refused even then.
	TrustEmail bool        `yaml:"trust_email,omitempty"`
	Roles      RoleMapping `yaml:"roles,omitempty"`
}

// RoleMapping maps values of one claim (for example groups) to a role.
// With no Claim every person who signs in is a member. With a Claim, a
// person matching no list is refused and suspended.
type RoleMapping struct {
	Claim  string   `yaml:"claim,omitempty"`
	Owner  []string `yaml:"owner,omitempty"`
	Admin  []string `yaml:"admin,omitempty"`
	Member []string `yaml:"member,omitempty"`
}

var providerIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// SecretEnv is the environment variable that may hold a provider's client
// secret: LATCHKEY_SSO_CORP_CLIENT_SECRET for id corp.
func (p SSOProvider) SecretEnv() string {
	return "LATCHKEY_SSO_" + strings.ToUpper(strings.ReplaceAll(p.ID, "-", "_")) + "_CLIENT_SECRET"
}

// resolve validates the section and loads client secrets from their files
// or the environment.
// reservedProviderID is the provider name under which SCIM's externalIds
// are stored (store.ProviderSCIM): no sign-in provider may take it.
const reservedProviderID = "scim"

func (s *SSO) resolve(getenv func(string) string) error {
	seen := map[string]bool{}
	for i := range s.Providers {
		p := &s.Providers[i]
		where := fmt.Sprintf("sso.providers[%d]", i)
		if !providerIDRE.MatchString(p.ID) {
			return fmt.Errorf("%s: id must be 1-32 lower-case letters, digits, '-' or '_' (it goes in /auth/sso/<id>); got %q", where, p.ID)
		}
		if p.ID == reservedProviderID {
			return fmt.Errorf("%s: id %q is reserved (SCIM's externalIds are kept under it, so its sign-ins would match provisioned users by externalId); choose another id", where, p.ID)
		}
		if seen[p.ID] {
			return fmt.Errorf("%s: id %q is used twice; give each provider its own id", where, p.ID)
		}
		seen[p.ID] = true
		where = "sso provider " + p.ID
		if p.Name == "" {
			p.Name = p.ID
		}
		u, err := url.Parse(p.Issuer)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%s: issuer must be the provider's https:// issuer URL (its discovery document is at <issuer>/.well-known/openid-configuration); got %q", where, p.Issuer)
		}
		if p.ClientID == "" {
			return fmt.Errorf("%s: client_id is required (the id of the client registered at the provider)", where)
		}
		if p.ClientSecret != "" && p.ClientSecretFile != "" {
			return fmt.Errorf("%s: set client_secret or client_secret_file, not both", where)
		}
		if p.ClientSecretFile != "" {
			b, err := os.ReadFile(p.ClientSecretFile)
			if err != nil {
				return fmt.Errorf("%s: read client_secret_file: %w", where, err)
			}
			p.ClientSecret = strings.TrimSpace(string(b))
		}
		if p.ClientSecret == "" {
			p.ClientSecret = getenv(p.SecretEnv())
		}
		if p.ClientSecret == "" {
			return fmt.Errorf("%s: no client secret: set client_secret_file, client_secret, or %s", where, p.SecretEnv())
		}
		if len(p.Scopes) == 0 {
			p.Scopes = []string{"openid", "profile", "email"}
		}
		if !slices.Contains(p.Scopes, "openid") {
			p.Scopes = append([]string{"openid"}, p.Scopes...)
		}
		for j, d := range p.AllowedDomains {
			d = strings.TrimPrefix(strings.TrimSpace(d), "@")
			if !isASCII(d) {
				return fmt.Errorf("%s: allowed_domains entry %q is not ASCII; give the domain in its ASCII (punycode) form, as xn--cole-9oa.fr for école.fr (addresses are compared with it letter for letter)", where, d)
			}
			p.AllowedDomains[j] = asciiLower(d)
		}
		r := p.Roles
		if r.Claim == "" && len(r.Owner)+len(r.Admin)+len(r.Member) > 0 {
			return fmt.Errorf("%s: roles lists groups but no claim; add claim: groups (or the claim your provider puts them in)", where)
		}
	}
	if s.Only && len(s.Providers) == 0 {
		return fmt.Errorf("sso.only is true but no provider is configured: nobody but break_glass owners could log in")
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only, as the sign-in lower-cases
// the address's domain before comparing it with allowed_domains.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
