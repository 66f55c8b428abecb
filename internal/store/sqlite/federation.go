package sqlite

import (
	"context"
	"database/sql"

	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

const fedPolicyColumns = `id, name, description, issuer, audience, conditions, service_account_id, scopes,
	max_lifetime, disabled, created_at, updated_at`

func scanFedPolicy(sc scanner) (*store.FederationPolicy, error) {
	var (
		p                store.FederationPolicy
		conds, scopes    string
		maxLife          int64
		disabled         int64
		created, updated int64
	)
	if err := sc.Scan(&p.ID, &p.Name, &p.Description, &p.Issuer, &p.Audience, &conds, &p.ServiceAccountID,
		&scopes, &maxLife, &disabled, &created, &updated); err != nil {
		return nil, translate(err)
	}
	var err error
	if p.Conditions, err = store.DecodeClaims(conds); err != nil {
		return nil, fmt.Errorf("federation policy %s conditions: %w", p.ID, err)
	}
	if p.Scopes, err = decodeList(scopes); err != nil {
		return nil, fmt.Errorf("federation policy %s scopes: %w", p.ID, err)
	}
	p.MaxLifetime, p.Disabled = time.Duration(maxLife), disabled != 0
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

func normFedPolicy(p *store.FederationPolicy) {
	p.CreatedAt, p.UpdatedAt = store.Truncate(p.CreatedAt), store.Truncate(p.UpdatedAt)
	p.Scopes = nonNil(p.Scopes)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateFederationPolicy inserts p.
func (s *Store) CreateFederationPolicy(ctx context.Context, p *store.FederationPolicy) error {
	normFedPolicy(p)
	_, err := s.execAuto(ctx, `INSERT INTO federation_policies (`+fedPolicyColumns+`) VALUES `+placeholders(1, 12),
		p.ID, p.Name, p.Description, p.Issuer, p.Audience, store.EncodeClaims(p.Conditions), p.ServiceAccountID,
		encodeList(p.Scopes), int64(p.MaxLifetime), boolInt(p.Disabled), micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create federation policy: %w", translate(err))
	}
	return nil
}

// GetFederationPolicy returns the policy with id.
func (s *Store) GetFederationPolicy(ctx context.Context, id string) (*store.FederationPolicy, error) {
	p, err := scanFedPolicy(s.r.QueryRowContext(ctx, `SELECT `+fedPolicyColumns+` FROM federation_policies WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get federation policy: %w", err)
	}
	return p, nil
}

// ListFederationPolicies returns policies by ID after f.Cursor.
func (s *Store) ListFederationPolicies(ctx context.Context, f store.FederationPolicyFilter) ([]*store.FederationPolicy, error) {
	q := `SELECT ` + fedPolicyColumns + ` FROM federation_policies WHERE id > ?`
	args := []any{f.Cursor}
	if f.Issuer != "" {
		q, args = q+` AND issuer = ?`, append(args, f.Issuer)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list federation policies: %w", err)
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
		return nil, fmt.Errorf("list federation policies: %w", err)
	}
	return out, nil
}

// UpdateFederationPolicy runs fn on the policy and writes back every field
// but ID and CreatedAt, in one transaction.
func (s *Store) UpdateFederationPolicy(ctx context.Context, id string, fn func(*store.FederationPolicy) error) (*store.FederationPolicy, error) {
	var out *store.FederationPolicy
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := scanFedPolicy(tx.QueryRowContext(ctx, `SELECT `+fedPolicyColumns+` FROM federation_policies WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("update federation policy: %w", err)
		}
		if err := fn(p); err != nil {
			return err
		}
		normFedPolicy(p)
		out, err = scanFedPolicy(tx.QueryRowContext(ctx, `UPDATE federation_policies SET name = ?, description = ?,
			issuer = ?, audience = ?, conditions = ?, service_account_id = ?, scopes = ?, max_lifetime = ?,
			disabled = ?, updated_at = ? WHERE id = ? RETURNING `+fedPolicyColumns,
			p.Name, p.Description, p.Issuer, p.Audience, store.EncodeClaims(p.Conditions), p.ServiceAccountID,
			encodeList(p.Scopes), int64(p.MaxLifetime), boolInt(p.Disabled), micros(p.UpdatedAt), id))
		if err != nil {
			return fmt.Errorf("update federation policy: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteFederationPolicy deletes the policy; the tokens it issued keep its id.
func (s *Store) DeleteFederationPolicy(ctx context.Context, id string) error {
	res, err := s.execAuto(ctx, `DELETE FROM federation_policies WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete federation policy: %w", translate(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("delete federation policy: %w", store.ErrNotFound)
	}
	return nil
}

// RevokeFederatedTokens revokes the policy's live tokens and returns them.
func (s *Store) RevokeFederatedTokens(ctx context.Context, policyID string, at time.Time) ([]*store.Token, error) {
	out := []*store.Token{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// RETURNING sees only the updated table: it gives the ids, and the
		// tokens are read back with their last use.
		ids, err := stringColumn(ctx, tx, `UPDATE tokens SET revoked_at = ?, updated_at = ?
			WHERE federation_policy_id = ? AND revoked_at IS NULL RETURNING id`, micros(at), micros(at), policyID)
		if err != nil {
			return fmt.Errorf("revoke federated tokens: %w", translate(err))
		}
		if len(ids) == 0 {
			return nil
		}
		slices.Sort(ids)
		rows, err := tx.QueryContext(ctx, selectToken+` WHERE id IN (SELECT value FROM json_each(?))`, jsonText(ids))
		if err != nil {
			return fmt.Errorf("revoke federated tokens: %w", translate(err))
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return fmt.Errorf("revoke federated tokens: %w", err)
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimFederationJTI inserts (issuer, jti) unless present.
func (s *Store) ClaimFederationJTI(ctx context.Context, issuer, jti string, expiresAt time.Time) (bool, error) {
	res, err := s.execAuto(ctx, `INSERT INTO federation_jtis (issuer, jti, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (issuer, jti) DO NOTHING`, issuer, jti, micros(expiresAt))
	if err != nil {
		return false, fmt.Errorf("claim federation jti: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim federation jti: %w", err)
	}
	return n == 1, nil
}

// DeleteFederationJTIsBefore deletes claims that expired before the time.
func (s *Store) DeleteFederationJTIsBefore(ctx context.Context, before time.Time) (int, error) {
	res, err := s.execAuto(ctx, `DELETE FROM federation_jtis WHERE expires_at < ?`, microsCeil(before))
	if err != nil {
		return 0, fmt.Errorf("delete federation jtis: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete federation jtis: %w", err)
	}
	return int(n), nil
}

// fedDeleteChunk is how many tokens one transaction of
// DeleteExpiredFederatedTokens deletes.
var fedDeleteChunk = 1_000 // a variable for the package's tests

// deleteExpiredFedSQL deletes a chunk of expired federation tokens, found
// by the partial index tokens_fed_expiry; their usage, last use and
// notices go with them (ON DELETE CASCADE).
const deleteExpiredFedSQL = `DELETE FROM tokens WHERE id IN
	(SELECT id FROM tokens WHERE kind = 'fed' AND expires_at < ?1 LIMIT ?2)`

// DeleteExpiredFederatedTokens deletes the federation tokens that expired
// before the time, fedDeleteChunk per write transaction.
func (s *Store) DeleteExpiredFederatedTokens(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		res, err := s.execAuto(ctx, deleteExpiredFedSQL, microsCeil(before), fedDeleteChunk)
		if err != nil {
			return total, fmt.Errorf("delete expired federation tokens: %w", translate(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("delete expired federation tokens: %w", err)
		}
		total += int(n)
		if n < int64(fedDeleteChunk) {
			return total, nil
		}
	}
}
