package postgres

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
	if err := s.db(ctx).QueryRow(ctx, `SELECT count(*) FROM users WHERE `+scimUsersWhere).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count SCIM users: %w", translate(err))
	}
	offset = max(offset, 0)
	if limit <= 0 || offset >= total {
		return []*store.User{}, total, nil
	}
	rows, err := s.db(ctx).Query(ctx, `SELECT `+userColumns+` FROM users WHERE `+scimUsersWhere+` ORDER BY id LIMIT $1 OFFSET $2`,
		min(limit, total-offset), offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list SCIM users: %w", translate(err))
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, 0, fmt.Errorf("list SCIM users: %w", translate(err))
	}
	return out, total, nil
}
