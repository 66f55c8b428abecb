package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

const userColumns = `id, username, role, kind, login_type, password_hash, suspended, created_at, updated_at, deleted_at, email, idp_user_name`

func scanUser(row pgx.Row) (*store.User, error) {
	var (
		u       store.User
		idpName *string
	)
	if err := row.Scan(&u.ID, &u.Username, &u.Role, &u.Kind, &u.LoginType, &u.PasswordHash,
		&u.Suspended, &u.CreatedAt, &u.UpdatedAt, &u.DeletedAt, &u.Email, &idpName); err != nil {
		return nil, translate(err)
	}
	if idpName != nil {
		u.IdPUserName = *idpName
	}
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = utc(u.CreatedAt), utc(u.UpdatedAt), utcPtr(u.DeletedAt)
	return &u, nil
}

// idpUserNameFold is the idp_user_name_fold column of name: NULL for none.
func idpUserNameFold(name string) any { return nullString(store.FoldUserName(name)) }

// CreateUser inserts u; a live user with the same username (ignoring case)
// or the same ID is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = ts(u.CreatedAt), ts(u.UpdatedAt), tsPtr(u.DeletedAt)
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO users (`+userColumns+`, idp_user_name_fold) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		u.ID, u.Username, string(u.Role), string(u.Kind), u.LoginType, u.PasswordHash, u.Suspended,
		u.CreatedAt, u.UpdatedAt, u.DeletedAt, u.Email, nullString(u.IdPUserName), idpUserNameFold(u.IdPUserName))
	if err != nil {
		return fmt.Errorf("create user: %w", translate(err))
	}
	return nil
}

// GetUser returns the live user with id.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(s.db(ctx).QueryRow(ctx, getUserSQL, id))
	if err != nil {
		return nil, fmt.Errorf("get user: %w", translate(err))
	}
	return u, nil
}

// GetUserByUsername returns the live user whose username equals username,
// ignoring case.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*store.User, error) {
	u, err := scanUser(s.db(ctx).QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL`, username))
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
	u, err := scanUser(s.db(ctx).QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE idp_user_name_fold = $1 AND deleted_at IS NULL`, store.FoldUserName(name)))
	if err != nil {
		return nil, fmt.Errorf("get user by idp user name: %w", translate(err))
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
	rows, err := s.db(ctx).Query(ctx, q, args...)
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
	if err := s.db(ctx).QueryRow(ctx, `SELECT count(*) FROM users WHERE deleted_at IS NULL`).Scan(&n); err != nil {
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
		var err error
		out, err = updateUser(ctx, tx, id, fn, -1)
		return err
	})
	return out, err
}

// UpdateUserKeepingAnOwner is UpdateUser that refuses, with
// store.ErrLastOwner, to take away the last active owner. The active
// owners are locked first (lockOtherOwners), so the count it judges by
// cannot change before the commit.
func (s *Store) UpdateUserKeepingAnOwner(ctx context.Context, id string, fn func(*store.User) error) (*store.User, error) {
	var out *store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		others, err := lockOtherOwners(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		out, err = updateUser(ctx, tx, id, fn, others)
		return err
	})
	return out, err
}

// updateUser is UpdateUser inside tx. others is how many active owners
// besides the user are locked by this transaction, or -1 when the
// last-owner rule is not asked for.
func updateUser(ctx context.Context, tx pgx.Tx, id string, fn func(*store.User) error, others int) (*store.User, error) {
	u, err := scanUser(tx.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id))
	if err != nil {
		return nil, fmt.Errorf("update user: %w", translate(err))
	}
	wasOwner := u.ActiveOwner()
	if err := fn(u); err != nil {
		return nil, err
	}
	if others == 0 && wasOwner && !u.ActiveOwner() {
		return nil, fmt.Errorf("update user: %w", store.ErrLastOwner)
	}
	out, err := scanUser(tx.QueryRow(ctx, `UPDATE users SET username = $1, role = $2, kind = $3,
		login_type = $4, password_hash = $5, suspended = $6, updated_at = $7, email = $8,
		idp_user_name = $9, idp_user_name_fold = $10
		WHERE id = $11 RETURNING `+userColumns,
		u.Username, string(u.Role), string(u.Kind), u.LoginType, u.PasswordHash, u.Suspended, ts(u.UpdatedAt), u.Email,
		nullString(u.IdPUserName), idpUserNameFold(u.IdPUserName), id))
	if err != nil {
		return nil, fmt.Errorf("update user: %w", translate(err))
	}
	return out, nil
}

// lockOtherOwners locks the row of the user with id and of every active
// owner until tx ends, and returns how many active owners there are
// besides that user.
//
// A conditional statement alone ("UPDATE ... WHERE EXISTS (another active
// owner)") is not safe under READ COMMITTED: two transactions demoting the
// last two owners each read a snapshot in which the other is still an
// owner, update different rows, never wait for each other, and both
// commit. Locking the owner rows makes them wait: the second blocks on the
// first's lock, and once the first commits, PostgreSQL re-reads the row it
// waited for and re-checks the WHERE clause, so a demoted, suspended or
// deleted owner is no longer counted (though it stays locked).
//
// Every lock on a user row this transaction takes is taken here, in one
// pass in ID order, the user's own included: locking the user afterwards
// could wait on a transaction that holds it and waits for an owner this
// one holds. An owner promoted after this statement's snapshot is missed,
// which can only refuse a change, never allow one.
func lockOtherOwners(ctx context.Context, tx pgx.Tx, id string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM users
		WHERE id = $1 OR (role = 'owner' AND kind = 'person' AND NOT suspended AND deleted_at IS NULL)
		ORDER BY id FOR UPDATE`, id)
	if err != nil {
		return 0, fmt.Errorf("lock owners: %w", translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("lock owners: %w", translate(err))
	}
	n := 0
	for _, o := range ids {
		if o != id {
			n++
		}
	}
	return n, nil
}

// DeleteUser soft-deletes the live user with id at time at, and in the same
// transaction revokes (at the same time) every token and session of theirs
// that is not revoked yet. Token rows are locked in ID order.
func (s *Store) DeleteUser(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return deleteUser(ctx, tx, id, ts(at)) })
}

// DeleteUserKeepingAnOwner is DeleteUser that refuses, with
// store.ErrLastOwner, to delete the only active owner, judged with the
// owners locked as in UpdateUserKeepingAnOwner. The user's row is locked
// by the same statement, so check sees it as it will be deleted.
func (s *Store) DeleteUserKeepingAnOwner(ctx context.Context, id string, at time.Time, check func(*store.User) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		others, err := lockOtherOwners(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if others == 0 || check != nil {
			u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 AND deleted_at IS NULL`, id))
			if err != nil {
				return fmt.Errorf("delete user: %w", translate(err))
			}
			if check != nil {
				if err := check(u); err != nil {
					return err
				}
			}
			if others == 0 && u.ActiveOwner() {
				return fmt.Errorf("delete user: %w", store.ErrLastOwner)
			}
		}
		return deleteUser(ctx, tx, id, ts(at))
	})
}

func deleteUser(ctx context.Context, tx pgx.Tx, id string, at time.Time) error {
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
