package web

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/latchkey/latchkey/internal/service"
)

// formWords is one form's vocabulary. Service and API messages name fields
// as the API spells them (max_lifetime, username) and give examples in the
// API's syntax (JSON); the console says them as the form in front of the
// user does (Maximum lifetime, User name, one claim=value per line).
type formWords struct {
	labels  map[string]string // API field name → the label the form shows
	phrases []phrase          // API wording → the form's, tried in order
}

// phrase rewrites API wording that is not a field name: an example in JSON,
// or an instruction that only makes sense to an API client.
type phrase struct {
	api  *regexp.Regexp
	form string // replacement, may use $1 for the api expression's groups
}

// saying is a phrase: every match of the regular expression api is
// replaced with form.
func saying(api, form string) phrase {
	return phrase{api: regexp.MustCompile(api), form: form}
}

// policyWords are the labels of the token policy form (admin_policy.html).
var policyWords = formWords{labels: map[string]string{
	"default_lifetime":  "Default lifetime",
	"max_lifetime":      "Maximum lifetime",
	"allow_no_expiry":   "Allow tokens that never expire",
	"creation":          "Who may create tokens",
	"revoke_unused_for": "Revoke tokens unused for",
}}

// tokenWords are the labels of the New token and Edit token forms.
var tokenWords = formWords{labels: map[string]string{
	"name":         "Name",
	"description":  "Description",
	"scopes":       "Permissions",
	"expires_in":   "Expiration",
	"expires_at":   "Expiration",
	"no_expiry":    "Expiration",
	"ip_allowlist": "Allowed IP addresses",
}}

// emailPhrases say how to clear the Email box rather than how to send an
// empty JSON string.
var emailPhrases = []phrase{
	saying(`, or an empty string for none`, ", or leave Email empty for none"),
}

// userWords are the labels of the Add a user form (admin_users.html).
var userWords = formWords{
	labels: map[string]string{
		"username": "User name",
		"password": "Initial password",
		"email":    "Email",
		"role":     "Role",
	},
	phrases: emailPhrases,
}

// serviceAccountWords are the labels of the Add a service account form
// (admin_service_accounts.html), which calls the user name a name.
var serviceAccountWords = formWords{
	labels: map[string]string{
		"username": "Name",
		"role":     "Role",
	},
	phrases: []phrase{saying(`the user name ("[^"]*") is taken`, "the name $1 is taken")},
}

// userPageWords are the labels of one user's page (admin_user.html): the
// Email and Role forms.
var userPageWords = formWords{
	labels: map[string]string{
		"email": "Email",
		"role":  "Role",
	},
	phrases: emailPhrases,
}

// federationWords are the labels of the Add a trust policy form
// (admin_federation.html), where conditions are typed as claim=value lines
// and scopes separated by spaces.
var federationWords = formWords{
	labels: map[string]string{
		"name":            "Name",
		"issuer":          "Issuer",
		"audience":        "Audience",
		"conditions":      "Conditions",
		"service_account": "Service account",
		"scopes":          "Scopes",
		"max_lifetime":    "Longest lifetime",
	},
	phrases: []phrase{
		saying(`\{"([^"]+)":"([^"]*)"\}`, "$1=$2"),
		saying(`\["([^"]+)"\]`, "$1"),
		saying(`a federation policy named`, "a trust policy named"),
		saying(`set issuer and audience on the policy instead`, "set them in the Issuer and Audience boxes instead"),
		saying(`create one with kind "service"`, "add one on the Service accounts page"),
		saying(`; list users to find the right id or name`, "; give the name of one listed on the Service accounts page"),
		saying(`^give 1 to (\d+) scopes$`, "Scopes: give 1 to $1, separated by spaces"),
	},
}

// ssoLinkWords are the labels of the Link a local user to an identity form
// (admin_sso.html).
var ssoLinkWords = formWords{
	labels: map[string]string{
		"user":     "User name or id",
		"provider": "Provider id",
		"subject":  "Subject",
	},
	phrases: []phrase{
		saying(`^give the provider id and the subject \(`, "Fill in Provider id and Subject ("),
		saying(`; list users to find the right id or name`, "; check the name on the Users page"),
	},
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
	if len(fw.labels) == 0 && len(fw.phrases) == 0 {
		return msg
	}
	for _, p := range fw.phrases {
		msg = p.api.ReplaceAllString(msg, p.form)
	}
	labels := fw.labels
	if m := exceedsRe.FindStringSubmatch(msg); m != nil && labels[m[1]] != "" && labels[m[3]] != "" {
		return fmt.Sprintf("%s (%s) is longer than the %s (%s)%s", labels[m[1]], m[2], lowerFirst(labels[m[3]]), m[4], m[5])
	}
	if m := notDurationRe.FindStringSubmatch(msg); m != nil && labels[field] != "" {
		return fmt.Sprintf("%s: %q is not a duration; write e.g. 30d, 12h or 2w", labels[field], m[1])
	}
	// A message that starts with the field's API name ("username must be…",
	// "audience must be…") starts with the form's label instead. One-word
	// names are replaced only there: inside a sentence "name" or "issuer" is
	// as likely an ordinary word.
	if label := labels[field]; label != "" && strings.HasPrefix(msg, field) {
		if rest := msg[len(field):]; rest == "" || strings.ContainsAny(rest[:1], " :;,(") {
			msg = label + rest
		}
	}
	// Otherwise name the fields by their labels: the label itself where it
	// starts the message, lower-cased inside a sentence.
	return fieldNameRe.ReplaceAllStringFunc(msg, func(name string) string {
		label, ok := labels[name]
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
