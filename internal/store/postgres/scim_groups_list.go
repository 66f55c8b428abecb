package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

// ListSCIMGroups returns, in id order, up to limit of the groups (those
// with displayName ignoring case, or any when it is "") after skipping
// offset of them, and how many there are. A page costs three
// queries whatever its size: the count, the page, and (with members) the
// live members of the page's groups; without members none is read.
func (s *Store) ListSCIMGroups(ctx context.Context, displayName string, offset, limit int, members bool) ([]*store.Group, int, error) {
	where, args := ``, []any{}
	if displayName != "" {
		where, args = ` WHERE lower(display_name) = lower($1)`, []any{displayName}
	}
	var total int
	if err := s.db(ctx).QueryRow(ctx, `SELECT count(*) FROM scim_groups`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count SCIM groups: %w", translate(err))
	}
	offset = max(offset, 0)
	if limit <= 0 || offset >= total {
		return []*store.Group{}, total, nil
	}
	n := len(args)
	rows, err := s.db(ctx).Query(ctx, `SELECT `+groupColumns+` FROM scim_groups`+where+fmt.Sprintf(` ORDER BY id LIMIT $%d OFFSET $%d`, n+1, n+2),
		append(args, min(limit, total-offset), offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list SCIM groups: %w", translate(err))
	}
	out, err := collect(rows, scanGroupRow)
	if err != nil {
		return nil, 0, fmt.Errorf("list SCIM groups: %w", translate(err))
	}
	if !members || len(out) == 0 {
		return out, total, nil
	}
	if err := s.pageMembers(ctx, out); err != nil {
		return nil, 0, fmt.Errorf("list SCIM group members: %w", err)
	}
	return out, total, nil
}

// pageMembers reads the live members of gs, a page of groups in id order,
// in one query over the page's id range, in member id order as GetGroup
// reads them.
func (s *Store) pageMembers(ctx context.Context, gs []*store.Group) error {
	byID := make(map[string]*store.Group, len(gs))
	for _, g := range gs {
		g.Members = []string{}
		byID[g.ID] = g
	}
	rows, err := s.db(ctx).Query(ctx, `SELECT m.group_id, m.user_id FROM scim_group_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id >= $1 AND m.group_id <= $2 AND u.deleted_at IS NULL ORDER BY m.group_id, m.user_id`, gs[0].ID, gs[len(gs)-1].ID)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var groupID, userID string
		if err := rows.Scan(&groupID, &userID); err != nil {
			return translate(err)
		}
		// A group created since the page was read falls in its id range
		// but not in the page.
		if g := byID[groupID]; g != nil {
			g.Members = append(g.Members, userID)
		}
	}
	return translate(rows.Err())
}

// scanGroupRow reads a row of groupColumns, without members.
func scanGroupRow(r pgx.Row) (*store.Group, error) {
	var g store.Group
	if err := r.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = utc(g.CreatedAt), utc(g.UpdatedAt)
	return &g, nil
}

// GetSCIMGroup is GetGroup, except that with members false no member is
// read (Members nil): one query, for GET /scim/v2/Groups/{id} asked
// without members.
func (s *Store) GetSCIMGroup(ctx context.Context, id string, members bool) (*store.Group, error) {
	if members {
		return s.GetGroup(ctx, id)
	}
	rows, err := s.db(ctx).Query(ctx, `SELECT `+groupColumns+` FROM scim_groups WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("get SCIM group: %w", translate(err))
	}
	gs, err := collect(rows, scanGroupRow)
	if err != nil {
		return nil, fmt.Errorf("get SCIM group: %w", translate(err))
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("get SCIM group: %w", store.ErrNotFound)
	}
	return gs[0], nil
}
