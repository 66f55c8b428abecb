package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

const identityColumns = `provider, subject, user_id, email, claims, created_at, last_login_at`

func scanIdentity(sc scanner) (*store.Identity, error) {
	var (
		i       store.Identity
		claims  string
		created int64
		last    sql.NullInt64
	)
	if err := sc.Scan(&i.Provider, &i.Subject, &i.UserID, &i.Email, &claims, &created, &last); err != nil {
		return nil, translate(err)
	}
	var err error
	if i.Claims, err = decodeList(claims); err != nil {
		return nil, err
	}
	i.CreatedAt, i.LastLoginAt = fromMicros(created), fromNullMicros(last)
	return &i, nil
}

// CreateIdentity links a user to an external identity.
func (s *Store) CreateIdentity(ctx context.Context, i *store.Identity) error {
	i.CreatedAt, i.LastLoginAt = store.Truncate(i.CreatedAt), store.TruncatePtr(i.LastLoginAt)
	_, err := s.execAuto(ctx, `INSERT INTO identities (`+identityColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		i.Provider, i.Subject, i.UserID, i.Email, encodeList(i.Claims), micros(i.CreatedAt), microsPtr(i.LastLoginAt))
	if err != nil {
		return fmt.Errorf("create identity: %w", translate(err))
	}
	return nil
}

// GetIdentity returns the identity (provider, subject) of a live user.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (*store.Identity, error) {
	i, err := scanIdentity(s.r.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities
		WHERE provider = ? AND subject = ? AND user_id IN (SELECT id FROM users WHERE deleted_at IS NULL)`, provider, subject))
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
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY provider, subject`, args...)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
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
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return out, nil
}

// UpdateIdentity runs fn on the identity and writes back Email, Claims and
// LastLoginAt in one transaction.
func (s *Store) UpdateIdentity(ctx context.Context, provider, subject string, fn func(*store.Identity) error) (*store.Identity, error) {
	var out *store.Identity
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		i, err := scanIdentity(tx.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE provider = ? AND subject = ?`, provider, subject))
		if err != nil {
			return fmt.Errorf("update identity: %w", err)
		}
		if err := fn(i); err != nil {
			return err
		}
		out, err = scanIdentity(tx.QueryRowContext(ctx, `UPDATE identities SET email = ?, claims = ?, last_login_at = ?
			WHERE provider = ? AND subject = ? RETURNING `+identityColumns,
			i.Email, encodeList(i.Claims), microsPtr(store.TruncatePtr(i.LastLoginAt)), provider, subject))
		if err != nil {
			return fmt.Errorf("update identity: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteIdentity unlinks an identity.
func (s *Store) DeleteIdentity(ctx context.Context, provider, subject string) error {
	res, err := s.execAuto(ctx, `DELETE FROM identities WHERE provider = ? AND subject = ?`, provider, subject)
	return affectedOne(res, err, "delete identity")
}

func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

const groupColumns = `id, display_name, external_id, created_at, updated_at`

// liveMembers lists the members of a group that are live users.
const liveMembers = `SELECT m.user_id FROM scim_group_members m JOIN users u ON u.id = m.user_id
	WHERE m.group_id = ? AND u.deleted_at IS NULL ORDER BY m.user_id`

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func readGroup(ctx context.Context, q querier, row *sql.Row) (*store.Group, error) {
	var (
		g                store.Group
		created, updated int64
	)
	if err := row.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &created, &updated); err != nil {
		return nil, translate(err)
	}
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	members, err := stringColumn(ctx, q, liveMembers, g.ID)
	if err != nil {
		return nil, err
	}
	g.Members = members
	return &g, nil
}

func stringColumn(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func writeMembers(ctx context.Context, tx *sql.Tx, g *store.Group) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM scim_group_members WHERE group_id = ?`, g.ID); err != nil {
		return translate(err)
	}
	g.Members = slices.Compact(slices.Sorted(slices.Values(g.Members)))
	for _, m := range g.Members {
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ? AND deleted_at IS NULL`, m).Scan(&live); err != nil {
			return translate(err)
		}
		if live == 0 {
			return fmt.Errorf("member %s: %w", m, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO scim_group_members (group_id, user_id) VALUES (?, ?)`, g.ID, m); err != nil {
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
	g.CreatedAt, g.UpdatedAt = store.Truncate(g.CreatedAt), store.Truncate(g.UpdatedAt)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO scim_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?)`,
			g.ID, g.DisplayName, g.ExternalID, micros(g.CreatedAt), micros(g.UpdatedAt)); err != nil {
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
	g, err := readGroup(ctx, s.r, s.r.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM scim_groups WHERE id = ?`, id))
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
		q += ` WHERE lower(display_name) = lower(?)`
		args = append(args, displayName)
	}
	ids, err := stringColumn(ctx, s.r, q+` ORDER BY id`, args...)
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

// UpdateGroup runs fn on the group and writes it back with its members in
// one transaction. The group it returns is read back in that transaction:
// called within Atomically, a read on a connection of its own would not
// see the write yet.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(*store.Group) error) (*store.Group, error) {
	var out *store.Group
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := readGroup(ctx, tx, tx.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM scim_groups WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		if err := fn(g); err != nil {
			return err
		}
		g.UpdatedAt = store.Truncate(g.UpdatedAt)
		if _, err := tx.ExecContext(ctx, `UPDATE scim_groups SET display_name = ?, external_id = ?, updated_at = ? WHERE id = ?`,
			g.DisplayName, g.ExternalID, micros(g.UpdatedAt), id); err != nil {
			return fmt.Errorf("update group: %w", translate(err))
		}
		if err := writeMembers(ctx, tx, g); err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		if out, err = readGroup(ctx, tx, tx.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM scim_groups WHERE id = ?`, id)); err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteGroup removes a group and its memberships.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	res, err := s.execAuto(ctx, `DELETE FROM scim_groups WHERE id = ?`, id)
	return affectedOne(res, err, "delete group")
}

// ListUserGroups returns the groups userID belongs to, without their
// members, in one query.
func (s *Store) ListUserGroups(ctx context.Context, userID string) ([]*store.Group, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT g.id, g.display_name, g.external_id, g.created_at, g.updated_at
		FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w", translate(err))
	}
	gs, err := groupRows(rows)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w", err)
	}
	return gs, nil
}

const deviceColumns = `id, device_digest, user_digest, client_id, status, user_id, created_at, expires_at, interval_ns, last_polled_at,
	requester_ip, requester_agent`

func scanDevice(sc scanner) (*store.DeviceCode, error) {
	var (
		d                store.DeviceCode
		created, expires int64
		interval         int64
		polled           sql.NullInt64
	)
	if err := sc.Scan(&d.ID, &d.DeviceDigest, &d.UserDigest, &d.ClientID, &d.Status, &d.UserID,
		&created, &expires, &interval, &polled, &d.RequesterIP, &d.RequesterAgent); err != nil {
		return nil, translate(err)
	}
	d.CreatedAt, d.ExpiresAt, d.Interval, d.LastPolledAt = fromMicros(created), fromMicros(expires), time.Duration(interval), fromNullMicros(polled)
	return &d, nil
}

// CreateDeviceCode inserts a device authorization.
func (s *Store) CreateDeviceCode(ctx context.Context, d *store.DeviceCode) error {
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = store.Truncate(d.CreatedAt), store.Truncate(d.ExpiresAt), store.TruncatePtr(d.LastPolledAt)
	_, err := s.execAuto(ctx, `INSERT INTO device_codes (`+deviceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.DeviceDigest, d.UserDigest, d.ClientID, d.Status, d.UserID, micros(d.CreatedAt), micros(d.ExpiresAt),
		int64(d.Interval), microsPtr(d.LastPolledAt), d.RequesterIP, d.RequesterAgent)
	if err != nil {
		return fmt.Errorf("create device code: %w", translate(err))
	}
	return nil
}

// GetDeviceCodeByDigest finds a device authorization by its device code.
func (s *Store) GetDeviceCodeByDigest(ctx context.Context, digest []byte) (*store.DeviceCode, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE device_digest = ?`, digest))
	if err != nil {
		return nil, fmt.Errorf("get device code: %w", err)
	}
	return d, nil
}

// GetDeviceCodeByUserCode finds a device authorization by its user code.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, digest []byte) (*store.DeviceCode, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE user_digest = ?`, digest))
	if err != nil {
		return nil, fmt.Errorf("get device code by user code: %w", err)
	}
	return d, nil
}

// UpdateDeviceCode runs fn on the code and writes back its mutable fields
// in one transaction.
func (s *Store) UpdateDeviceCode(ctx context.Context, id string, fn func(*store.DeviceCode) error) (*store.DeviceCode, error) {
	var out *store.DeviceCode
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM device_codes WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("update device code: %w", err)
		}
		if err := fn(d); err != nil {
			return err
		}
		out, err = scanDevice(tx.QueryRowContext(ctx, `UPDATE device_codes SET status = ?, user_id = ?, interval_ns = ?,
			last_polled_at = ? WHERE id = ? RETURNING `+deviceColumns,
			d.Status, d.UserID, int64(d.Interval), microsPtr(store.TruncatePtr(d.LastPolledAt)), id))
		if err != nil {
			return fmt.Errorf("update device code: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteExpiredDeviceCodes removes codes that expired strictly before.
func (s *Store) DeleteExpiredDeviceCodes(ctx context.Context, before time.Time) (int, error) {
	res, err := s.execAuto(ctx, `DELETE FROM device_codes WHERE expires_at < ?`, microsCeil(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired device codes: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired device codes: %w", err)
	}
	return int(n), nil
}
