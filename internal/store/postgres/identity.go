package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/store"
)

const identityColumns = `provider, subject, user_id, email, claims, created_at, last_login_at`

func scanIdentity(row pgx.Row) (*store.Identity, error) {
	var i store.Identity
	if err := row.Scan(&i.Provider, &i.Subject, &i.UserID, &i.Email, &i.Claims, &i.CreatedAt, &i.LastLoginAt); err != nil {
		return nil, translate(err)
	}
	i.Claims, i.CreatedAt, i.LastLoginAt = list(i.Claims), utc(i.CreatedAt), utcPtr(i.LastLoginAt)
	return &i, nil
}

// CreateIdentity links a user to an external identity.
func (s *Store) CreateIdentity(ctx context.Context, i *store.Identity) error {
	i.CreatedAt, i.LastLoginAt = ts(i.CreatedAt), tsPtr(i.LastLoginAt)
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO identities (`+identityColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		i.Provider, i.Subject, i.UserID, i.Email, list(i.Claims), i.CreatedAt, i.LastLoginAt)
	if err != nil {
		return fmt.Errorf("create identity: %w", translate(err))
	}
	return nil
}

// GetIdentity returns the identity (provider, subject) of a live user.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (*store.Identity, error) {
	i, err := scanIdentity(s.db(ctx).QueryRow(ctx, `SELECT `+identityColumns+` FROM identities
		WHERE provider = $1 AND subject = $2 AND user_id IN (SELECT id FROM users WHERE deleted_at IS NULL)`, provider, subject))
	if err != nil {
		return nil, fmt.Errorf("get identity: %w", err)
	}
	return i, nil
}

// ListIdentities returns the identities of userID, or of all live users.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]*store.Identity, error) {
	q := `SELECT ` + identityColumns + ` FROM identities WHERE user_id IN (SELECT id FROM users WHERE deleted_at IS NULL)`
	var args []any
	if userID != "" {
		q += ` AND user_id = $1`
		args = append(args, userID)
	}
	rows, err := s.db(ctx).Query(ctx, q+` ORDER BY provider, subject`, args...)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", translate(err))
	}
	defer rows.Close()
	out := []*store.Identity{}
	for rows.Next() {
		i, err := scanIdentity(rows)
		if err != nil {
			return nil, fmt.Errorf("list identities: %w", err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list identities: %w", translate(err))
	}
	return out, nil
}

// UpdateIdentity runs fn on the identity, locked FOR UPDATE, and writes back
// Email, Claims and LastLoginAt in the same transaction.
func (s *Store) UpdateIdentity(ctx context.Context, provider, subject string, fn func(*store.Identity) error) (*store.Identity, error) {
	var out *store.Identity
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		i, err := scanIdentity(tx.QueryRow(ctx, `SELECT `+identityColumns+` FROM identities WHERE provider = $1 AND subject = $2 FOR UPDATE`, provider, subject))
		if err != nil {
			return fmt.Errorf("update identity: %w", err)
		}
		if err := fn(i); err != nil {
			return err
		}
		out, err = scanIdentity(tx.QueryRow(ctx, `UPDATE identities SET email = $1, claims = $2, last_login_at = $3
			WHERE provider = $4 AND subject = $5 RETURNING `+identityColumns,
			i.Email, list(i.Claims), tsPtr(i.LastLoginAt), provider, subject))
		if err != nil {
			return fmt.Errorf("update identity: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteIdentity unlinks an identity.
func (s *Store) DeleteIdentity(ctx context.Context, provider, subject string) error {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM identities WHERE provider = $1 AND subject = $2`, provider, subject)
	return affectedOne(tag, err, "delete identity")
}

func affectedOne(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

const groupColumns = `id, display_name, external_id, created_at, updated_at`

const liveMembers = `SELECT m.user_id FROM scim_group_members m JOIN users u ON u.id = m.user_id
	WHERE m.group_id = $1 AND u.deleted_at IS NULL ORDER BY m.user_id`

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readGroup(ctx context.Context, q querier, row pgx.Row) (*store.Group, error) {
	var g store.Group
	if err := row.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return nil, translate(err)
	}
	g.CreatedAt, g.UpdatedAt = utc(g.CreatedAt), utc(g.UpdatedAt)
	members, err := stringColumn(ctx, q, liveMembers, g.ID)
	if err != nil {
		return nil, err
	}
	g.Members = members
	return &g, nil
}

func stringColumn(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err)
	}
	return list(out), nil
}

func writeMembers(ctx context.Context, tx pgx.Tx, g *store.Group) error {
	if _, err := tx.Exec(ctx, `DELETE FROM scim_group_members WHERE group_id = $1`, g.ID); err != nil {
		return translate(err)
	}
	g.Members = slices.Compact(slices.Sorted(slices.Values(g.Members)))
	for _, m := range g.Members {
		var live int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE id = $1 AND deleted_at IS NULL`, m).Scan(&live); err != nil {
			return translate(err)
		}
		if live == 0 {
			return fmt.Errorf("member %s: %w", m, store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO scim_group_members (group_id, user_id) VALUES ($1, $2)`, g.ID, m); err != nil {
			return translate(err)
		}
	}
	if g.Members == nil {
		g.Members = []string{}
	}
	return nil
}

// CreateGroup inserts a SCIM group and its members in one transaction.
func (s *Store) CreateGroup(ctx context.Context, g *store.Group) error {
	g.CreatedAt, g.UpdatedAt = ts(g.CreatedAt), ts(g.UpdatedAt)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO scim_groups (`+groupColumns+`) VALUES ($1, $2, $3, $4, $5)`,
			g.ID, g.DisplayName, g.ExternalID, g.CreatedAt, g.UpdatedAt); err != nil {
			return fmt.Errorf("create group: %w", translate(err))
		}
		if err := writeMembers(ctx, tx, g); err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		return nil
	})
}

// GetGroup returns a group with its live members.
func (s *Store) GetGroup(ctx context.Context, id string) (*store.Group, error) {
	g, err := readGroup(ctx, s.db(ctx), s.db(ctx).QueryRow(ctx, `SELECT `+groupColumns+` FROM scim_groups WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get group: %w", err)
	}
	return g, nil
}

// ListGroups returns groups ordered by ID, optionally those with one
// display name (ignoring case).
func (s *Store) ListGroups(ctx context.Context, displayName string) ([]*store.Group, error) {
	q, args := `SELECT id FROM scim_groups`, []any{}
	if displayName != "" {
		q += ` WHERE lower(display_name) = lower($1)`
		args = append(args, displayName)
	}
	ids, err := stringColumn(ctx, s.db(ctx), q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return s.groupsByID(ctx, ids)
}

func (s *Store) groupsByID(ctx context.Context, ids []string) ([]*store.Group, error) {
	out := make([]*store.Group, 0, len(ids))
	for _, id := range ids {
		g, err := s.GetGroup(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// UpdateGroup runs fn on the group, locked FOR UPDATE, and writes it back
// with its members in the same transaction.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(*store.Group) error) (*store.Group, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		g, err := readGroup(ctx, tx, tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM scim_groups WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		if err := fn(g); err != nil {
			return err
		}
		g.UpdatedAt = ts(g.UpdatedAt)
		if _, err := tx.Exec(ctx, `UPDATE scim_groups SET display_name = $1, external_id = $2, updated_at = $3 WHERE id = $4`,
			g.DisplayName, g.ExternalID, g.UpdatedAt, id); err != nil {
			return fmt.Errorf("update group: %w", translate(err))
		}
		if err := writeMembers(ctx, tx, g); err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetGroup(ctx, id)
}

// DeleteGroup removes a group and its memberships.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM scim_groups WHERE id = $1`, id)
	return affectedOne(tag, err, "delete group")
}

// ListUserGroups returns the groups userID belongs to, without their
// members, in one query.
func (s *Store) ListUserGroups(ctx context.Context, userID string) ([]*store.Group, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT g.id, g.display_name, g.external_id, g.created_at, g.updated_at
		FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id WHERE m.user_id = $1 ORDER BY g.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w", translate(err))
	}
	gs, err := collect(rows, scanGroupRow)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w", translate(err))
	}
	return gs, nil
}

const deviceColumns = `id, device_digest, user_digest, client_id, status, user_id, created_at, expires_at, interval_ns, last_polled_at,
	requester_ip, requester_agent`

func scanDevice(row pgx.Row) (*store.DeviceCode, error) {
	var (
		d        store.DeviceCode
		interval int64
	)
	if err := row.Scan(&d.ID, &d.DeviceDigest, &d.UserDigest, &d.ClientID, &d.Status, &d.UserID,
		&d.CreatedAt, &d.ExpiresAt, &interval, &d.LastPolledAt,
		&d.RequesterIP, &d.RequesterAgent); err != nil {
		return nil, translate(err)
	}
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = utc(d.CreatedAt), utc(d.ExpiresAt), utcPtr(d.LastPolledAt)
	d.Interval = time.Duration(interval)
	return &d, nil
}

// CreateDeviceCode inserts a device authorization.
func (s *Store) CreateDeviceCode(ctx context.Context, d *store.DeviceCode) error {
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = ts(d.CreatedAt), ts(d.ExpiresAt), tsPtr(d.LastPolledAt)
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO device_codes (`+deviceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.ID, d.DeviceDigest, d.UserDigest, d.ClientID, d.Status, d.UserID, d.CreatedAt, d.ExpiresAt, int64(d.Interval), d.LastPolledAt,
		d.RequesterIP, d.RequesterAgent)
	if err != nil {
		return fmt.Errorf("create device code: %w", translate(err))
	}
	return nil
}

// GetDeviceCodeByDigest finds a device authorization by its device code.
func (s *Store) GetDeviceCodeByDigest(ctx context.Context, digest []byte) (*store.DeviceCode, error) {
	d, err := scanDevice(s.db(ctx).QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE device_digest = $1`, digest))
	if err != nil {
		return nil, fmt.Errorf("get device code: %w", err)
	}
	return d, nil
}

// GetDeviceCodeByUserCode finds a device authorization by its user code.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, digest []byte) (*store.DeviceCode, error) {
	d, err := scanDevice(s.db(ctx).QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE user_digest = $1`, digest))
	if err != nil {
		return nil, fmt.Errorf("get device code by user code: %w", err)
	}
	return d, nil
}

// UpdateDeviceCode runs fn on the code, locked FOR UPDATE, and writes back
// its mutable fields in the same transaction.
func (s *Store) UpdateDeviceCode(ctx context.Context, id string, fn func(*store.DeviceCode) error) (*store.DeviceCode, error) {
	var out *store.DeviceCode
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		d, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("update device code: %w", err)
		}
		if err := fn(d); err != nil {
			return err
		}
		out, err = scanDevice(tx.QueryRow(ctx, `UPDATE device_codes SET status = $1, user_id = $2, interval_ns = $3,
			last_polled_at = $4 WHERE id = $5 RETURNING `+deviceColumns,
			d.Status, d.UserID, int64(d.Interval), tsPtr(d.LastPolledAt), id))
		if err != nil {
			return fmt.Errorf("update device code: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteExpiredDeviceCodes removes codes that expired strictly before.
func (s *Store) DeleteExpiredDeviceCodes(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM device_codes WHERE expires_at < $1`, tsCeil(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired device codes: %w", translate(err))
	}
	return int(tag.RowsAffected()), nil
}
