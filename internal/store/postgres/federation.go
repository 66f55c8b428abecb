package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

const fedPolicyColumns = `id, name, description, issuer, audience, conditions, service_account_id, scopes,
	max_lifetime, disabled, created_at, updated_at`

func scanFedPolicy(row pgx.Row) (*store.FederationPolicy, error) {
	var (
		p       store.FederationPolicy
		conds   string
		maxLife int64
	)
	if err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Issuer, &p.Audience, &conds, &p.ServiceAccountID,
		&p.Scopes, &maxLife, &p.Disabled, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, translate(err)
	}
	var err error
	if p.Conditions, err = store.DecodeClaims(conds); err != nil {
		return nil, fmt.Errorf("federation policy %s conditions: %w", p.ID, err)
	}
	p.Scopes, p.MaxLifetime = list(p.Scopes), time.Duration(maxLife)
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return &p, nil
}

func normFedPolicy(p *store.FederationPolicy) {
	p.CreatedAt, p.UpdatedAt = ts(p.CreatedAt), ts(p.UpdatedAt)
	p.Scopes = list(p.Scopes)
}

// CreateFederationPolicy inserts p.
func (s *Store) CreateFederationPolicy(ctx context.Context, p *store.FederationPolicy) error {
	normFedPolicy(p)
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO federation_policies (`+fedPolicyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.ID, p.Name, p.Description, p.Issuer, p.Audience, store.EncodeClaims(p.Conditions), p.ServiceAccountID,
		p.Scopes, int64(p.MaxLifetime), p.Disabled, p.CreatedAt, p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create federation policy: %w", translate(err))
	}
	return nil
}

// GetFederationPolicy returns the policy with id.
func (s *Store) GetFederationPolicy(ctx context.Context, id string) (*store.FederationPolicy, error) {
	p, err := scanFedPolicy(s.db(ctx).QueryRow(ctx, `SELECT `+fedPolicyColumns+` FROM federation_policies WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get federation policy: %w", err)
	}
	return p, nil
}

// ListFederationPolicies returns policies by ID after f.Cursor.
func (s *Store) ListFederationPolicies(ctx context.Context, f store.FederationPolicyFilter) ([]*store.FederationPolicy, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT `+fedPolicyColumns+` FROM federation_policies
		WHERE id > $1 AND ($2 = '' OR issuer = $2) ORDER BY id LIMIT $3`, f.Cursor, f.Issuer, store.PageLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list federation policies: %w", translate(err))
	}
	defer rows.Close()
	out := []*store.FederationPolicy{}
	for rows.Next() {
		p, err := scanFedPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list federation policies: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list federation policies: %w", translate(err))
	}
	return out, nil
}

// UpdateFederationPolicy runs fn on the policy and writes back every field
// but ID and CreatedAt, in one transaction.
func (s *Store) UpdateFederationPolicy(ctx context.Context, id string, fn func(*store.FederationPolicy) error) (*store.FederationPolicy, error) {
	var out *store.FederationPolicy
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		p, err := scanFedPolicy(tx.QueryRow(ctx, `SELECT `+fedPolicyColumns+` FROM federation_policies WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("update federation policy: %w", err)
		}
		if err := fn(p); err != nil {
			return err
		}
		normFedPolicy(p)
		out, err = scanFedPolicy(tx.QueryRow(ctx, `UPDATE federation_policies SET name = $1, description = $2,
			issuer = $3, audience = $4, conditions = $5, service_account_id = $6, scopes = $7, max_lifetime = $8,
			disabled = $9, updated_at = $10 WHERE id = $11 RETURNING `+fedPolicyColumns,
			p.Name, p.Description, p.Issuer, p.Audience, store.EncodeClaims(p.Conditions), p.ServiceAccountID,
			p.Scopes, int64(p.MaxLifetime), p.Disabled, p.UpdatedAt, id))
		if err != nil {
			return fmt.Errorf("update federation policy: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteFederationPolicy deletes the policy; the tokens it issued keep its id.
func (s *Store) DeleteFederationPolicy(ctx context.Context, id string) error {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM federation_policies WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete federation policy: %w", translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete federation policy: %w", store.ErrNotFound)
	}
	return nil
}

// RevokeFederatedTokens revokes the policy's live tokens and returns them.
func (s *Store) RevokeFederatedTokens(ctx context.Context, policyID string, at time.Time) ([]*store.Token, error) {
	at = ts(at)
	rows, err := s.db(ctx).Query(ctx, `UPDATE tokens SET revoked_at = $1, updated_at = $1
		WHERE federation_policy_id = $2 AND revoked_at IS NULL RETURNING `+tokenColumns, at, policyID)
	if err != nil {
		return nil, fmt.Errorf("revoke federated tokens: %w", translate(err))
	}
	defer rows.Close()
	out := []*store.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("revoke federated tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("revoke federated tokens: %w", translate(err))
	}
	return out, nil
}

// ClaimFederationJTI inserts (issuer, jti) unless present.
func (s *Store) ClaimFederationJTI(ctx context.Context, issuer, jti string, expiresAt time.Time) (bool, error) {
	tag, err := s.db(ctx).Exec(ctx, `INSERT INTO federation_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (issuer, jti) DO NOTHING`, issuer, jti, ts(expiresAt))
	if err != nil {
		return false, fmt.Errorf("claim federation jti: %w", translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteFederationJTIsBefore deletes claims that expired before the time.
func (s *Store) DeleteFederationJTIsBefore(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM federation_jtis WHERE expires_at < $1`, tsCeil(before))
	if err != nil {
		return 0, fmt.Errorf("delete federation jtis: %w", translate(err))
	}
	return int(tag.RowsAffected()), nil
}

// fedDeleteChunk is how many tokens one statement of
// DeleteExpiredFederatedTokens deletes.
var fedDeleteChunk = 1_000 // a variable for the package's tests

// deleteExpiredFedSQL deletes a chunk of expired federation tokens, found
// by the partial index tokens_fed_expiry; their usage and notices go with
// them (ON DELETE CASCADE).
const deleteExpiredFedSQL = `DELETE FROM tokens WHERE id IN
	(SELECT id FROM tokens WHERE kind = 'fed' AND expires_at < $1 LIMIT $2)`

// DeleteExpiredFederatedTokens deletes the federation tokens that expired
// before the time, fedDeleteChunk per statement.
func (s *Store) DeleteExpiredFederatedTokens(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		tag, err := s.db(ctx).Exec(ctx, deleteExpiredFedSQL, tsCeil(before), fedDeleteChunk)
		if err != nil {
			return total, fmt.Errorf("delete expired federation tokens: %w", translate(err))
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() < int64(fedDeleteChunk) {
			return total, nil
		}
	}
}
