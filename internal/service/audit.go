package service

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/store"
)

// Audit appends to and reads the audit log.
type Audit struct {
	store  store.Store
	now    func() time.Time
	logger *slog.Logger
}

// record appends an event in a transaction of its own. A failure to audit
// is logged, not returned: the change it describes has already been made.
// It is for events of what changes nothing (a failed login) or that are
// not security changes; the others go through inTx and add.
func (au *Audit) record(ctx context.Context, a Actor, action, targetType, targetID string, details map[string]any) {
	e := au.event(a, action, targetType, targetID, details)
	if err := au.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		au.logger.Error("append audit event", "action", action, "target", targetID, "err", err)
	}
}

// inTx runs change in one store transaction (store.Store.Atomically): the
// writes it makes with the context it is given, and the events it appends
// there with add, are stored together or not at all. A security change
// (a revocation, a suspension, a policy change) goes through it, so that
// a change answered as made always has its event; its error fails the
// change, which the caller then answers as not made.
func (au *Audit) inTx(ctx context.Context, change func(ctx context.Context) error) error {
	return au.store.Atomically(ctx, change)
}

// add appends the event of a's action in the transaction of ctx, the
// context of inTx's change.
func (au *Audit) add(ctx context.Context, a Actor, action, targetType, targetID string, details map[string]any) error {
	return au.store.AppendAudit(ctx, au.event(a, action, targetType, targetID, details))
}

// event is the audit event of a's action, for a store method that writes it
// in the same transaction as the change it describes.
func (au *Audit) event(a Actor, action, targetType, targetID string, details map[string]any) *store.AuditEvent {
	return &store.AuditEvent{
		At: au.now().UTC(), ActorID: a.userID(), ActorName: a.userName(),
		Action: action, TargetType: targetType, TargetID: targetID,
		IP: a.IP, Agent: a.Agent, Details: details,
	}
}

// InTx is inTx for another package (sts): the writes change makes with the
// context it is given, and the events it appends with Add, are stored
// together or not at all. Its error fails the change, which the caller
// then answers as not made (503 on an outage).
func (au *Audit) InTx(ctx context.Context, change func(ctx context.Context) error) error {
	return au.inTx(ctx, change)
}

// Add is add for another package: it appends the event of a's action in
// the transaction of ctx, the context of InTx's change.
func (au *Audit) Add(ctx context.Context, a Actor, action, targetType, targetID string, details map[string]any) error {
	return au.add(ctx, a, action, targetType, targetID, details)
}

// Record appends an event on behalf of another package (auth, sts, web),
// best-effort: for events of what changes nothing, such as a failed
// login. A change goes through InTx and Add.
func (au *Audit) Record(ctx context.Context, a Actor, action, targetType, targetID string, details map[string]any) {
	au.record(ctx, a, action, targetType, targetID, details)
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	ActorID  string
	TargetID string
	Action   string
	Since    time.Time
	Until    time.Time
	Cursor   string
	Limit    int
}

// List returns a page of events, newest first, for admins.
func (au *Audit) List(ctx context.Context, a Actor, q AuditQuery) ([]*store.AuditEvent, string, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, "", err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	var cursor int64
	if q.Cursor != "" {
		raw, err := decodeCursor(q.Cursor)
		if err == nil {
			cursor, err = strconv.ParseInt(raw, 10, 64)
		}
		if err != nil || cursor <= 0 {
			return nil, "", invalid("cursor", "cursor %q is not valid; pass the next_cursor value of the previous page unchanged", q.Cursor)
		}
	}
	for field, v := range map[string]string{"actor_id": q.ActorID, "target_id": q.TargetID, "action": q.Action} {
		if printable(v, len(v)+1) != v {
			return nil, "", invalid(field, "%s must be printable text without control characters", field)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return nil, "", invalid("until", "until (%s) is before since (%s): the window ends before it starts; swap them", q.Until.UTC().Format(time.RFC3339), q.Since.UTC().Format(time.RFC3339))
	}
	events, err := au.store.ListAudit(ctx, store.AuditFilter{
		ActorID: q.ActorID, TargetID: q.TargetID, Action: q.Action,
		Since: q.Since, Until: q.Until, Cursor: cursor, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(events) > limit {
		events = events[:limit]
		next = encodeCursor(strconv.FormatInt(events[limit-1].ID, 10))
	}
	return events, next, nil
}

// Page size bounds.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 0 || n > maxPageSize:
		return 0, invalid("limit", "limit must be between 1 and %d; got %d", maxPageSize, n)
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of the last row's key.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || len(b) > 64 {
		return "", ErrInvalid
	}
	return string(b), nil
}

// printable returns s as valid UTF-8 without control characters or
// invisible formatting characters (each replaced by U+FFFD), cut to at most
// n runes: safe to store and to show. Formatting characters count because a
// right-to-left override or a zero width space makes text read as
// something other than what it is, on a console page, in a terminal or in
// an email alike. U+2028 and U+2029, the line and paragraph separators,
// are line breaks (in JavaScript, JSON viewers, mail and chat clients) and
// count as control characters here.
func printable(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		if count == n {
			break
		}
		if unicode.IsControl(r) || invisible(r) || r == '\u2028' || r == '\u2029' {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}
