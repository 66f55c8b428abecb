package config_test

import (
	"strings"
	"testing"
)

// TestSSOAllowedDomainsAreASCII: an allowed_domains entry is compared with
// the address's domain byte for byte after ASCII lower-casing, so an entry
// that is not ASCII is refused at load with one line saying to give its
// ASCII (punycode, xn--) form: lower-cased by Unicode rules, the Kelvin
// sign in "\u212Aorp.example" would have become korp.example, and "ÉCOLE.fr"
// would match no address spelled École.fr. ASCII entries are lower-cased
// and lose a leading "@" and spaces, as before.
func TestSSOAllowedDomainsAreASCII(t *testing.T) {
	const head = "sso:\n  providers:\n    - id: corp\n      issuer: https://idp.example.com\n      client_id: latchkey\n      client_secret: y\n      allowed_domains: "
	for _, entry := range []string{"ÉCOLE.fr", "école.fr", "\u212Aorp.example", "ｃｏｒｐ.example", "corp.example\u200b"} {
		t.Run(entry, func(t *testing.T) {
			_, err := resolve(t, "--config", ssoFile(t, head+`["corp.example", "`+entry+`"]`+"\n"))
			if err == nil {
				t.Fatalf("allowed_domains entry %q was accepted", entry)
			}
			msg := err.Error()
			for _, want := range []string{"sso provider corp", "allowed_domains", "ASCII", "punycode", "xn--"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is more than one line", msg)
			}
		})
	}
	cfg, err := resolve(t, "--config", ssoFile(t, head+`[" @Corp.Example ", "XN--cole-9oa.fr"]`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.File.SSO.Providers[0].AllowedDomains, " "); got != "corp.example xn--cole-9oa.fr" {
		t.Errorf("allowed_domains resolved to %q, want corp.example xn--cole-9oa.fr", got)
	}
}
