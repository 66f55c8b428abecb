package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/latchkey/latchkey/client"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// findToken resolves a token id or name. Names are looked up among your own
// tokens, or user's when given (admins). A name that belongs to a live
// token and to revoked ones means the live one.
func (a *app) findToken(cl *client.Client, ref, user string) (*client.Token, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, usageError("token id or name is empty")
	}
	if looksLikeSecret(ref) {
		// Never echoed: errors end up in CI logs.
		return nil, usageError("that looks like a token's secret, not its name or id (it is not shown here): find the token's id with `latchkey tokens list`, or revoke a leaked secret with `latchkey scan --revoke FILE`")
	}
	if uuidRE.MatchString(ref) {
		t, err := cl.GetToken(a.ctx(), ref)
		if errors.Is(err, client.ErrNotFound) {
			return nil, fail(exitNotFound, fmt.Errorf("no token with id %s", ref))
		}
		return t, err
	}
	var live, revoked []client.Token
	for t, err := range cl.Tokens(a.ctx(), client.ListTokensOptions{UserID: user, Limit: 500}) {
		if err != nil {
			return nil, err
		}
		if t.Name != ref {
			continue
		}
		if t.State == client.StateRevoked {
			revoked = append(revoked, t)
		} else {
			live = append(live, t)
		}
	}
	switch {
	case len(live) == 1:
		return &live[0], nil
	case len(live) > 1:
		return nil, fail(exitConflict, fmt.Errorf("%d tokens are named %q; name one by id: %s", len(live), ref, ids(live)))
	case len(revoked) > 0:
		return &revoked[0], nil // newest first
	}
	whose := "you have no token"
	if user != "" {
		whose = user + " has no token"
	}
	return nil, fail(exitNotFound, fmt.Errorf("%s named %q; `latchkey tokens list` shows them", whose, ref))
}

// looksLikeSecret reports whether s has the shape of a token's secret
// (<prefix>_<pat|adm|ses|fed>_<30 or more letters and digits>), checksum or
// not: a name of that shape is not worth echoing either.
func looksLikeSecret(s string) bool { return secretShapeRE.MatchString(s) }

var secretShapeRE = regexp.MustCompile(`[A-Za-z0-9]_(pat|adm|ses|fed)_[A-Za-z0-9]{30,}`)

func ids(ts []client.Token) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return strings.Join(out, ", ")
}

// findUser resolves a user id or name to a user, with a not-found error
// that says what to run.
func (a *app) findUser(cl *client.Client, ref string) (*client.User, error) {
	u, err := cl.GetUser(a.ctx(), ref)
	if errors.Is(err, client.ErrNotFound) {
		return nil, fail(exitNotFound, fmt.Errorf("no user %q; `latchkey users list` shows them", ref))
	}
	return u, err
}

// parseTime reads a date or time given on the command line: a date
// (2027-01-01, midnight local time), a date and time (2027-01-01T15:04,
// local), or RFC 3339.
func parseTime(flag, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		loc := time.Local
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError("--%s %q is not a date: write it like 2027-01-01, 2027-01-01T15:04 or 2027-01-01T15:04:05Z", flag, s)
}

// parseSince reads --since/--until: a duration back from now ("24h", "7d")
// or a date or time.
func parseSince(flag, s string, now time.Time) (time.Time, error) {
	if d, ok := parseDays(s); ok {
		return now.Add(-d), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	t, err := parseTime(flag, s)
	if err != nil {
		return time.Time{}, usageError("--%s %q is neither a duration (30m, 24h, 7d) nor a date (2027-01-01, 2027-01-01T15:04:05Z)", flag, s)
	}
	return t, nil
}

// parseDays reads "7d" or "2w".
func parseDays(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	var n int
	var unit byte
	if _, err := fmt.Sscanf(s, "%d%c", &n, &unit); err != nil || n <= 0 || fmt.Sprintf("%d%c", n, unit) != s {
		return 0, false
	}
	switch unit {
	case 'd':
		return time.Duration(n) * 24 * time.Hour, true
	case 'w':
		return time.Duration(n) * 7 * 24 * time.Hour, true
	}
	return 0, false
}
