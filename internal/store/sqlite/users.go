package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

const userColumns = `id, username, role, kind, login_type, password_hash, suspended, created_at, updated_at, deleted_at, email, idp_user_name`

func scanUser(sc scanner) (*store.User, error) {
	var (
		u                store.User
		created, updated int64
		deleted          sql.NullInt64
		idpName          sql.NullString
	)
	if err := sc.Scan(&u.ID, &u.Username, &u.Role, &u.Kind, &u.LoginType, &u.PasswordHash,
		&u.Suspended, &created, &updated, &deleted, &u.Email, &idpName); err != nil {
		return nil, translate(err)
	}
	u.IdPUserName = idpName.String
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = fromMicros(created), fromMicros(updated), fromNullMicros(deleted)
	return &u, nil
}

// idpUserNameFold is the idp_user_name_fold column of name: NULL for none.
func idpUserNameFold(name string) any { return nullString(store.FoldUserName(name)) }

// normUser brings u to the stored precision in place.
func normUser(u *store.User) {
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = store.Truncate(u.CreatedAt), store.Truncate(u.UpdatedAt), store.TruncatePtr(u.DeletedAt)
}

// CreateUser inserts u; a live user with the same username (ignoring case)
// or the same ID is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	normUser(u)
	_, err := s.exec(ctx, `INSERT INTO users (`+userColumns+`, idp_user_name_fold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.Role, u.Kind, u.LoginType, u.PasswordHash, u.Suspended,
		micros(u.CreatedAt), micros(u.UpdatedAt), microsPtr(u.DeletedAt), u.Email, nullString(u.IdPUserName), idpUserNameFold(u.IdPUserName))
	if err != nil {
		return fmt.Errorf("create user: %w", translate(err))
	}
	return nil
}

// GetUser returns the live user with id.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(s.getUser.QueryRowContext(ctx, id))
	if err != nil {
		return nil, fmt.Errorf("get user: %w", translate(err))
	}
	return u, nil
}

// GetUserByUsername returns the live user whose username equals username,
// ignoring case.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower(?) AND deleted_at IS NULL`, username))
	if err != nil {
		return nil, fmt.Errorf("get user by username: %w", translate(err))
	}
	return u, nil
}

// GetUserByIdPUserName returns the live user whose IdPUserName equals
// name ignoring case.
func (s *Store) GetUserByIdPUserName(ctx context.Context, name string) (*store.User, error) {
	if name == "" {
		return nil, fmt.Errorf("get user by idp user name: %w", store.ErrNotFound)
	}
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE idp_user_name_fold = ? AND deleted_at IS NULL`, store.FoldUserName(name)))
	if err != nil {
		return nil, fmt.Errorf("get user by idp user name: %w", translate(err))
	}
	return u, nil
}

// ListUsers returns live users ordered by ID, after f.Cursor.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE deleted_at IS NULL`
	var args []any
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.Cursor != "" {
		q += ` AND id > ?`
		args = append(args, f.Cursor)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", translate(err))
	}
	defer rows.Close()
	out := []*store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", translate(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", translate(err))
	}
	return out, nil
}

// CountUsers counts live users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE deleted_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", translate(err))
	}
	return n, nil
}

// UpdateUser runs fn on the live user with id and writes back its mutable
// fields (everything but ID, CreatedAt and DeletedAt) in one transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*store.User) error) (*store.User, error) {
	return s.updateUser(ctx, id, fn, false)
}

// UpdateUserKeepingAnOwner is UpdateUser that refuses, with
// store.ErrLastOwner, to take away the last active owner. SQLite has one
// writer: the count and the write in one transaction see no other write
// between them.
func (s *Store) UpdateUserKeepingAnOwner(ctx context.Context, id string, fn func(*store.User) error) (*store.User, error) {
	return s.updateUser(ctx, id, fn, true)
}

func (s *Store) updateUser(ctx context.Context, id string, fn func(*store.User) error, keepOwner bool) (*store.User, error) {
	var out *store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx,
			`SELECT `+userColumns+` FROM users WHERE id = ? AND deleted_at IS NULL`, id))
		if err != nil {
			return fmt.Errorf("update user: %w", translate(err))
		}
		wasOwner := u.ActiveOwner()
		if err := fn(u); err != nil {
			return err
		}
		if keepOwner && wasOwner && !u.ActiveOwner() {
			if err := anotherOwner(ctx, tx, id); err != nil {
				return fmt.Errorf("update user: %w", err)
			}
		}
		u.UpdatedAt = store.Truncate(u.UpdatedAt)
		out, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET username = ?, role = ?, kind = ?,
			login_type = ?, password_hash = ?, suspended = ?, updated_at = ?, email = ?,
			idp_user_name = ?, idp_user_name_fold = ?
			WHERE id = ? RETURNING `+userColumns,
			u.Username, u.Role, u.Kind, u.LoginType, u.PasswordHash, u.Suspended, micros(u.UpdatedAt), u.Email,
			nullString(u.IdPUserName), idpUserNameFold(u.IdPUserName), id))
		if err != nil {
			return fmt.Errorf("update user: %w", translate(err))
		}
		return nil
	})
	return out, err
}

// anotherOwner returns store.ErrLastOwner unless an active owner other
// than the user with id exists.
func anotherOwner(ctx context.Context, tx *sql.Tx, id string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users
		WHERE role = 'owner' AND kind = 'person' AND suspended = 0 AND deleted_at IS NULL AND id <> ?`, id).Scan(&n)
	if err != nil {
		return fmt.Errorf("count owners: %w", translate(err))
	}
	if n == 0 {
		return store.ErrLastOwner
	}
	return nil
}

// DeleteUser soft-deletes the live user with id at time at, and in the same
// transaction revokes (at the same time) every token and session of theirs
// that is not revoked yet.
func (s *Store) DeleteUser(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return deleteUser(ctx, tx, id, micros(at)) })
}

// DeleteUserKeepingAnOwner is DeleteUser that refuses, with
// store.ErrLastOwner, to delete the only active owner. SQLite has one
// writer: check sees the row as it will be deleted.
func (s *Store) DeleteUserKeepingAnOwner(ctx context.Context, id string, at time.Time, check func(*store.User) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ? AND deleted_at IS NULL`, id))
		if err != nil {
			return fmt.Errorf("delete user: %w", translate(err))
		}
		if check != nil {
			if err := check(u); err != nil {
				return err
			}
		}
		if u.ActiveOwner() {
			if err := anotherOwner(ctx, tx, id); err != nil {
				return fmt.Errorf("delete user: %w", err)
			}
		}
		return deleteUser(ctx, tx, id, micros(at))
	})
}

func deleteUser(ctx context.Context, tx *sql.Tx, id string, ts int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`, ts, ts, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", translate(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete user: %w", translate(err))
	} else if n == 0 {
		return fmt.Errorf("delete user: %w", store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ?, updated_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ts, ts, id); err != nil {
		return fmt.Errorf("delete user: revoke tokens: %w", translate(err))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ts, id); err != nil {
		return fmt.Errorf("delete user: revoke sessions: %w", translate(err))
	}
	return nil
}
