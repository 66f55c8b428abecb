package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

const keyColumns = `id, algorithm, public_jwk, private_enc, created_at, retired_at`

func scanKey(row pgx.Row) (*store.SigningKey, error) {
	var k store.SigningKey
	if err := row.Scan(&k.ID, &k.Algorithm, &k.PublicJWK, &k.PrivateEnc, &k.CreatedAt, &k.RetiredAt); err != nil {
		return nil, translate(err)
	}
	k.CreatedAt, k.RetiredAt = utc(k.CreatedAt), utcPtr(k.RetiredAt)
	return &k, nil
}

// CreateSigningKey inserts k; a duplicate ID is store.ErrConflict.
func (s *Store) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	k.CreatedAt, k.RetiredAt = ts(k.CreatedAt), tsPtr(k.RetiredAt)
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Algorithm, k.PublicJWK, k.PrivateEnc, k.CreatedAt, k.RetiredAt)
	if err != nil {
		return fmt.Errorf("create signing key: %w", translate(err))
	}
	return nil
}

// ListSigningKeys returns every key, newest first (then by ID, descending).
func (s *Store) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", translate(err))
	}
	out, err := collect(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", translate(err))
	}
	return out, nil
}

// UpdateSigningKey runs fn on the key with id, locked FOR UPDATE, and writes
// back every field but ID and CreatedAt in the same transaction.
func (s *Store) UpdateSigningKey(ctx context.Context, id string, fn func(*store.SigningKey) error) (*store.SigningKey, error) {
	var out *store.SigningKey
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		k, err := scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("update signing key: %w", translate(err))
		}
		if err := fn(k); err != nil {
			return err
		}
		out, err = scanKey(tx.QueryRow(ctx, `UPDATE signing_keys SET algorithm = $1, public_jwk = $2,
			private_enc = $3, retired_at = $4 WHERE id = $5 RETURNING `+keyColumns,
			k.Algorithm, k.PublicJWK, k.PrivateEnc, tsPtr(k.RetiredAt), id))
		if err != nil {
			return fmt.Errorf("update signing key: %w", translate(err))
		}
		return nil
	})
	return out, err
}

// DeleteSigningKey deletes the key with id; a missing key is
// store.ErrNotFound.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete signing key: %w", translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete signing key: %w", store.ErrNotFound)
	}
	return nil
}
