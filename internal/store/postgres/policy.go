package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// GetPolicy returns the stored policy, or store.ErrNotFound before the
// first PutPolicy.
func (s *Store) GetPolicy(ctx context.Context) (*store.Policy, error) {
	var (
		p                    store.Policy
		def, maxLife, unused int64
	)
	err := s.db(ctx).QueryRow(ctx, `SELECT default_lifetime, max_lifetime, allow_no_expiry, creation,
		revoke_unused_for, updated_at FROM policy WHERE id = 1`).
		Scan(&def, &maxLife, &p.AllowNoExpiry, &p.Creation, &unused, &p.UpdatedAt)
	if err != nil {
		return nil, fmt.Errorf("get policy: %w", translate(err))
	}
	p.DefaultLifetime, p.MaxLifetime, p.RevokeUnusedFor = time.Duration(def), time.Duration(maxLife), time.Duration(unused)
	p.UpdatedAt = utc(p.UpdatedAt)
	return &p, nil
}

// PutPolicy stores p, replacing any previous policy.
func (s *Store) PutPolicy(ctx context.Context, p *store.Policy) error {
	p.UpdatedAt = ts(p.UpdatedAt)
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO policy (id, default_lifetime, max_lifetime, allow_no_expiry,
		creation, revoke_unused_for, updated_at) VALUES (1, $1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET default_lifetime = excluded.default_lifetime,
		max_lifetime = excluded.max_lifetime, allow_no_expiry = excluded.allow_no_expiry,
		creation = excluded.creation, revoke_unused_for = excluded.revoke_unused_for,
		updated_at = excluded.updated_at`,
		int64(p.DefaultLifetime), int64(p.MaxLifetime), p.AllowNoExpiry, p.Creation,
		int64(p.RevokeUnusedFor), p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("put policy: %w", translate(err))
	}
	return nil
}
