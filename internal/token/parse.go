package token

import (
	"fmt"
	"strings"
)

// Parsed is a syntactically valid token: right prefix, known kind, right
// length and alphabet, and a checksum that verifies. It says nothing about
// whether the token exists or is still valid. Its fields are sub-slices of
// the input (no copy).
type Parsed struct {
	Raw    string // the whole token
	Prefix string // the prefix, without the underscore
	Kind   Kind   // the kind segment
}

// ValidatePrefix reports whether p can be used as a token prefix: 1 to 16
// characters of [a-z0-9] starting with a letter. Config validation calls it;
// the error wraps ErrPrefix.
func ValidatePrefix(p string) error {
	if validPrefix(p) {
		return nil
	}
	return &formatError{ErrPrefix, fmt.Sprintf(
		"token prefix %q is not valid: use 1 to 16 lowercase letters and digits, starting with a letter, such as %q",
		p, DefaultPrefix)}
}

func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > maxPrefixLen || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := 1; i < len(p); i++ {
		if c := p[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Parse checks that raw is a well-formed token with the given prefix; an
// empty prefix accepts any valid prefix. It checks, in order, emptiness,
// prefix, kind, length, alphabet and checksum, and each failure wraps
// exactly one of ErrEmpty, ErrPrefix, ErrKind, ErrLength, ErrAlphabet or
// ErrChecksum. It does not trim whitespace.
//
// Parse runs before every cache or database lookup, so it does not allocate
// on success and rejects typos and garbage without touching storage.
func Parse(raw, prefix string) (Parsed, error) {
	if raw == "" {
		return Parsed{}, invalid(ErrEmpty, prefix, "token is empty: send the whole token")
	}
	p, err := splitPrefix(raw, prefix)
	if err != nil {
		return Parsed{}, err
	}
	rest := raw[len(p)+1:]
	if len(rest) < kindLen+1 || rest[kindLen] != '_' || !Kind(rest[:kindLen]).Valid() {
		return Parsed{}, invalid(ErrKind, prefix, fmt.Sprintf("token kind after %q is not pat, adm or ses", p+"_"))
	}
	kind := Kind(rest[:kindLen])
	body := rest[kindLen+1:]
	if len(body) != bodyLen {
		return Parsed{}, invalid(ErrLength, prefix, fmt.Sprintf(
			"token has %d characters after %q, want %d: it may be cut off or have extra spaces or a newline",
			len(body), p+"_"+string(kind)+"_", bodyLen))
	}
	for i := 0; i < len(body); i++ {
		if !isBase62[body[i]] {
			return Parsed{}, invalid(ErrAlphabet, prefix, fmt.Sprintf(
				"token character %d of %d is not a letter or digit: copy the token again without quotes or punctuation",
				len(raw)-len(body)+i+1, len(raw)))
		}
	}
	if !checksumOK(raw) {
		return Parsed{}, invalid(ErrChecksum, prefix,
			"token checksum does not match: it was mistyped or altered; copy it again from where it was issued")
	}
	return Parsed{Raw: raw, Prefix: p, Kind: kind}, nil
}

// splitPrefix returns the prefix of raw: the expected one if raw starts with
// it and an underscore, or, when expected is empty, whatever valid prefix
// precedes the first underscore.
func splitPrefix(raw, expected string) (string, error) {
	if expected != "" {
		if !validPrefix(expected) {
			return "", invalid(ErrPrefix, expected, fmt.Sprintf(
				"token prefix %q configured on this server is not valid; fix the configuration", expected))
		}
		if len(raw) <= len(expected) || raw[len(expected)] != '_' || raw[:len(expected)] != expected {
			return "", invalid(ErrPrefix, expected, fmt.Sprintf(
				"token does not start with %q: use a token issued by this server", expected+"_"))
		}
		return expected, nil
	}
	i := strings.IndexByte(raw[:min(len(raw), maxPrefixLen+1)], '_')
	if i < 0 || !validPrefix(raw[:i]) {
		return "", invalid(ErrPrefix, "",
			"token does not start with a prefix of 1 to 16 lowercase letters and digits and '_'")
	}
	return raw[:i], nil
}
