package web

import (
	"net/http"
	"net/netip"
	"strings"
)

// allowlistField is the name of the token forms' "Allowed IP addresses" box.
const allowlistField = "ip_allowlist"

// parseAllowlist reads the "Allowed IP addresses" box: one address or CIDR
// range per line or comma-separated; empty means any address. Each entry is
// checked here so the error can name it in the form's words.
func parseAllowlist(text string) ([]string, error) {
	out := []string{}
	for _, s := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' }) {
		if _, err := netip.ParsePrefix(s); err != nil {
			if _, err := netip.ParseAddr(s); err != nil {
				return nil, fieldErrorf(allowlistField, "%s is not an IP address or CIDR range; write e.g. 10.20.0.0/16 or 192.0.2.7", s)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// postedAllowlist returns the posted allowlist and whether the form carried
// the box at all (a post without it leaves the allowlist as it is).
func postedAllowlist(r *http.Request) (text string, list []string, present bool, err error) {
	if _, present = r.PostForm[allowlistField]; !present {
		return "", nil, false, nil
	}
	text = r.PostFormValue(allowlistField)
	list, err = parseAllowlist(text)
	return text, list, true, err
}
