package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/store"
)

// AppendAudit appends e to the audit log and sets e.ID to the ID the store
// assigned. Details are stored as JSON; nil or empty details store nothing.
func (s *Store) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, e) })
}

// appendAudit appends e inside tx.
func appendAudit(ctx context.Context, tx *sql.Tx, e *store.AuditEvent) error {
	var details any
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("append audit: details: %w", translate(err))
		}
		details = string(b)
	}
	e.At = store.Truncate(e.At)
	err := tx.QueryRowContext(ctx, `INSERT INTO audit_events (at, actor_id, actor_name, action, target_type,
		target_id, ip, agent, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		micros(e.At), e.ActorID, e.ActorName, e.Action, e.TargetType, e.TargetID, e.IP, e.Agent, details).
		Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("append audit: %w", translate(err))
	}
	return nil
}

// ListAudit returns events newest first (by ID), before f.Cursor, matching
// the filter. Since is inclusive and Until exclusive.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	if f.ActorID != "" {
		where, args = append(where, `actor_id = ?`), append(args, f.ActorID)
	}
	if f.TargetID != "" {
		where, args = append(where, `target_id = ?`), append(args, f.TargetID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			// Prefix match as a range: '/' follows '.' in byte order.
			where = append(where, `action >= ? AND action < ?`)
			args = append(args, f.Action, strings.TrimSuffix(f.Action, ".")+"/")
		} else {
			where, args = append(where, `action = ?`), append(args, f.Action)
		}
	}
	if !f.Since.IsZero() {
		where, args = append(where, `at >= ?`), append(args, microsCeil(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, `at < ?`), append(args, microsCeil(f.Until))
	}
	if f.Cursor != 0 {
		where, args = append(where, `id < ?`), append(args, f.Cursor)
	}
	q := `SELECT id, at, actor_id, actor_name, action, target_type, target_id, ip, agent, details FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", translate(err))
	}
	defer rows.Close()
	out := []*store.AuditEvent{}
	for rows.Next() {
		var (
			e       store.AuditEvent
			at      int64
			details sql.NullString
		)
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorName, &e.Action, &e.TargetType, &e.TargetID,
			&e.IP, &e.Agent, &details); err != nil {
			return nil, fmt.Errorf("list audit: %w", translate(err))
		}
		e.At = fromMicros(at)
		if details.Valid {
			if err := json.Unmarshal([]byte(details.String), &e.Details); err != nil {
				return nil, fmt.Errorf("list audit: event %d details: %w", e.ID, err)
			}
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", translate(err))
	}
	return out, nil
}
