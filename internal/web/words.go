package web

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/latchkey/latchkey/internal/service"
)

// formWords is one form's vocabulary: the label the form shows for each
// input the service names. Service and API messages name fields as the API
// spells them (max_lifetime); the console says them as the form in front of
// the user does (Maximum lifetime).
type formWords map[string]string

// policyWords are the labels of the token policy form (admin_policy.html).
var policyWords = formWords{
	"default_lifetime":  "Default lifetime",
	"max_lifetime":      "Maximum lifetime",
	"allow_no_expiry":   "Allow tokens that never expire",
	"creation":          "Who may create tokens",
	"revoke_unused_for": "Revoke tokens unused for",
}

// tokenWords are the labels of the New token and Edit token forms.
var tokenWords = formWords{
	"name":         "Name",
	"description":  "Description",
	"scopes":       "Permissions",
	"expires_in":   "Expiration",
	"expires_at":   "Expiration",
	"no_expiry":    "Expiration",
	"ip_allowlist": "Allowed IP addresses",
}

var (
	// exceedsRe is "default_lifetime (180d) exceeds max_lifetime (90d); how to fix".
	exceedsRe = regexp.MustCompile(`^([a-z_]+) \(([^)]*)\) exceeds ([a-z_]+) \(([^)]*)\)(.*)$`)
	// notDurationRe is `field: "about a month" is not a duration: how to write one`.
	notDurationRe = regexp.MustCompile(`"([^"]*)" is not a duration`)
	fieldNameRe   = regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)
)

// say rewrites a service message about field in the form's words.
func (fw formWords) say(field, msg string) string {
	if len(fw) == 0 {
		return msg
	}
	if m := exceedsRe.FindStringSubmatch(msg); m != nil && fw[m[1]] != "" && fw[m[3]] != "" {
		return fmt.Sprintf("%s (%s) is longer than the %s (%s)%s", fw[m[1]], m[2], lowerFirst(fw[m[3]]), m[4], m[5])
	}
	if m := notDurationRe.FindStringSubmatch(msg); m != nil && fw[field] != "" {
		return fmt.Sprintf("%s: %q is not a duration; write e.g. 30d, 12h or 2w", fw[field], m[1])
	}
	// Otherwise name the fields by their labels: the label itself where it
	// starts the message, lower-cased inside a sentence.
	return fieldNameRe.ReplaceAllStringFunc(msg, func(name string) string {
		label, ok := fw[name]
		if !ok {
			return name
		}
		if strings.HasPrefix(msg, name) {
			return label
		}
		return lowerFirst(label)
	})
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// notFoundWords says what a "not found" from the services means on a
// console page, where the visitor followed a link rather than typed an id.
func notFoundWords(err error) string {
	msg := messageOf(err)
	var se *service.Error
	if errors.As(err, &se) && strings.HasPrefix(msg, "no token with id") {
		return "This token no longer exists (it may have been revoked and cleaned up)."
	}
	return msg
}

// speaking returns f with its errors said in words.
func (f form) speaking(words formWords) form {
	f.words = words
	return f
}
