package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

const userColumns = `id, username, role, kind, login_type, password_hash, suspended, created_at, updated_at, deleted_at, email`

func scanUser(row pgx.Row) (*store.User, error) {
	var u store.User
	if err := row.Scan(&u.ID, &u.Username, &u.Role, &u.Kind, &u.LoginType, &u.PasswordHash,
		&u.Suspended, &u.CreatedAt, &u.UpdatedAt, &u.DeletedAt, &u.Email); err != nil {
		return nil, translate(err)
	}
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = utc(u.CreatedAt), utc(u.UpdatedAt), utcPtr(u.DeletedAt)
	return &u, nil
}

// CreateUser inserts u; a live user with the same username (ignoring case)
// or the same ID is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = ts(u.CreatedAt), ts(u.UpdatedAt), tsPtr(u.DeletedAt)
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.Username, string(u.Role), string(u.Kind), u.LoginType, u.PasswordHash, u.Suspended,
		u.CreatedAt, u.UpdatedAt, u.DeletedAt, u.Email)
	if err != nil {
		return fmt.Errorf("create user: %w", translate(err))
	}
	return nil
}

// GetUser returns the live user with id.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, getUserSQL, id))
	if err != nil {
		return nil, fmt.Errorf("get user: %w", translate(err))
	}
	return u, nil
}

// GetUserByUsername returns the live user whose username equals username,
// ignoring case.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL`, username))
	if err != nil {
		return nil, fmt.Errorf("get user by username: %w", translate(err))
	}
	return u, nil
}

// ListUsers returns live users ordered by ID, after f.Cursor.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, error) {
	var w where
	w.add(`deleted_at IS NULL`)
	if f.Kind != "" {
		w.add(`kind = ?`, string(f.Kind))
	}
	if f.Cursor != "" {
		w.add(`id > ?`, f.Cursor)
	}
	q, args := w.query(`SELECT `+userColumns+` FROM users`, `ORDER BY id`, store.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", translate(err))
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", translate(err))
	}
	return out, nil
}

// CountUsers counts live users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE deleted_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", translate(err))
	}
	return n, nil
}

// UpdateUser runs fn on the live user with id, locked FOR UPDATE, and writes
// back its mutable fields (everything but ID, CreatedAt and DeletedAt) in
// the same transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*store.User) error) (*store.User, error) {
	var out *store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx,
			`SELECT `+userColumns+` FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("update user: %w", translate(err))
		}
		if err := fn(u); err != nil {
			return err
		}
		out, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET username = $1, role = $2, kind = $3,
			login_type = $4, password_hash = $5, suspended = $6, updated_at = $7, email = $8
			WHERE id = $9 RETURNING `+userColumns,
			u.Username, string(u.Role), string(u.Kind), u.LoginType, u.PasswordHash, u.Suspended, ts(u.UpdatedAt), u.Email, id))
		if err != nil {
			return fmt.Errorf("update user: %w", translate(err))
		}
		return nil
	})
	return out, err
}

// DeleteUser soft-deletes the live user with id at time at, and in the same
// transaction revokes (at the same time) every token and session of theirs
// that is not revoked yet. Token rows are locked in ID order.
func (s *Store) DeleteUser(ctx context.Context, id string, at time.Time) error {
	at = ts(at)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`, at, id)
		if err != nil {
			return fmt.Errorf("delete user: %w", translate(err))
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("delete user: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1, updated_at = $1 WHERE id IN (
			SELECT id FROM tokens WHERE user_id = $2 AND revoked_at IS NULL ORDER BY id FOR UPDATE)`, at, id); err != nil {
			return fmt.Errorf("delete user: revoke tokens: %w", translate(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, at, id); err != nil {
			return fmt.Errorf("delete user: revoke sessions: %w", translate(err))
		}
		return nil
	})
}

// collect scans every row with scan into a non-nil slice.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (*T, error)) ([]*T, error) {
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
