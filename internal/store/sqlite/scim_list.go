package sqlite

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/internal/store"
)

// scimUsersWhere selects the users SCIM manages: live people who sign in
// through an identity provider.
const scimUsersWhere = `deleted_at IS NULL AND kind = 'person' AND login_type = 'oidc'`

// ListSCIMUsers returns, in id order, up to limit of the live people of
// login type oidc after skipping offset of them, and how many there are.
func (s *Store) ListSCIMUsers(ctx context.Context, offset, limit int) ([]*store.User, int, error) {
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE `+scimUsersWhere).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count SCIM users: %w", translate(err))
	}
	offset = max(offset, 0)
	out := []*store.User{}
	if limit <= 0 || offset >= total {
		return out, total, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+scimUsersWhere+` ORDER BY id LIMIT ? OFFSET ?`,
		min(limit, total-offset), offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list SCIM users: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list SCIM users: %w", translate(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list SCIM users: %w", translate(err))
	}
	return out, total, nil
}
