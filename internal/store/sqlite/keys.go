package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/internal/store"
)

const keyColumns = `id, algorithm, public_jwk, private_enc, created_at, retired_at`

func scanKey(sc scanner) (*store.SigningKey, error) {
	var (
		k       store.SigningKey
		created int64
		retired sql.NullInt64
	)
	if err := sc.Scan(&k.ID, &k.Algorithm, &k.PublicJWK, &k.PrivateEnc, &created, &retired); err != nil {
		return nil, translate(err)
	}
	k.CreatedAt, k.RetiredAt = fromMicros(created), fromNullMicros(retired)
	return &k, nil
}

// CreateSigningKey inserts k; a duplicate ID is store.ErrConflict.
func (s *Store) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	k.CreatedAt, k.RetiredAt = store.Truncate(k.CreatedAt), store.TruncatePtr(k.RetiredAt)
	_, err := s.exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PublicJWK, k.PrivateEnc, micros(k.CreatedAt), microsPtr(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("create signing key: %w", translate(err))
	}
	return nil
}

// ListSigningKeys returns every key, newest first (then by ID, descending).
func (s *Store) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", translate(err))
	}
	defer rows.Close()
	out := []*store.SigningKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list signing keys: %w", translate(err))
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", translate(err))
	}
	return out, nil
}

// UpdateSigningKey runs fn on the key with id and writes back every field
// but ID and CreatedAt, in one transaction.
func (s *Store) UpdateSigningKey(ctx context.Context, id string, fn func(*store.SigningKey) error) (*store.SigningKey, error) {
	var out *store.SigningKey
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		k, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("update signing key: %w", translate(err))
		}
		if err := fn(k); err != nil {
			return err
		}
		out, err = scanKey(tx.QueryRowContext(ctx, `UPDATE signing_keys SET algorithm = ?, public_jwk = ?,
			private_enc = ?, retired_at = ? WHERE id = ? RETURNING `+keyColumns,
			k.Algorithm, k.PublicJWK, k.PrivateEnc, microsPtr(k.RetiredAt), id))
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
	res, err := s.exec(ctx, `DELETE FROM signing_keys WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete signing key: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete signing key: %w", translate(err))
	}
	if n == 0 {
		return fmt.Errorf("delete signing key: %w", store.ErrNotFound)
	}
	return nil
}
