package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

// AppendAudit appends e to the audit log and sets e.ID to the ID the store
// assigned. Details are stored as jsonb; nil or empty details store NULL.
func (s *Store) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	return appendAudit(ctx, s.db(ctx), e)
}

// rowQuerier is the pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// appendAudit appends e through q (the pool, or a transaction).
func appendAudit(ctx context.Context, q rowQuerier, e *store.AuditEvent) error {
	args, err := auditArgs(e)
	if err != nil {
		return err
	}
	if err := q.QueryRow(ctx, insertAuditSQL, args...).Scan(&e.ID); err != nil {
		return fmt.Errorf("append audit: %w", translate(err))
	}
	return nil
}

// insertAuditSQL appends one event and returns its ID.
const insertAuditSQL = `INSERT INTO audit_events (at, actor_id, actor_name, action, target_type,
		target_id, ip, agent, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) RETURNING id`

// auditArgs are insertAuditSQL's arguments for e; it truncates e.At as
// stored.
func auditArgs(e *store.AuditEvent) ([]any, error) {
	var details []byte
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return nil, fmt.Errorf("append audit: details: %w", translate(err))
		}
	}
	e.At = ts(e.At)
	return []any{e.At, e.ActorID, e.ActorName, e.Action, e.TargetType, e.TargetID, e.IP, e.Agent, nullText(details)}, nil
}

// nullText passes JSON as text (NULL when empty) for a ::jsonb cast.
func nullText(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

func scanAudit(row pgx.Row) (*store.AuditEvent, error) {
	var (
		e       store.AuditEvent
		details []byte
	)
	if err := row.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.Action, &e.TargetType, &e.TargetID,
		&e.IP, &e.Agent, &details); err != nil {
		return nil, err
	}
	e.At = utc(e.At)
	if len(details) > 0 {
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return nil, fmt.Errorf("event %d details: %w", e.ID, err)
		}
	}
	return &e, nil
}

// ListAudit returns events newest first (by ID), before f.Cursor, matching
// the filter. Since is inclusive and Until exclusive.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEvent, error) {
	var w where
	if f.ActorID != "" {
		w.add(`actor_id = ?`, f.ActorID)
	}
	if f.TargetID != "" {
		w.add(`target_id = ?`, f.TargetID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			w.add(`starts_with(action, ?)`, f.Action)
		} else {
			w.add(`action = ?`, f.Action)
		}
	}
	if !f.Since.IsZero() {
		w.add(`at >= ?`, tsCeil(f.Since))
	}
	if !f.Until.IsZero() {
		w.add(`at < ?`, tsCeil(f.Until))
	}
	if f.Cursor != 0 {
		w.add(`id < ?`, f.Cursor)
	}
	q, args := w.query(`SELECT id, at, actor_id, actor_name, action, target_type, target_id, ip, agent,
		details::text FROM audit_events`, `ORDER BY id DESC`, store.PageLimit(f.Limit))
	rows, err := s.db(ctx).Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", translate(err))
	}
	out, err := collect(rows, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", translate(err))
	}
	return out, nil
}
