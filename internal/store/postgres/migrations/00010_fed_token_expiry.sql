-- Expired federation tokens are deleted (issue 16): every CI run that
-- exchanges an OIDC token adds a short-lived `fed` token, and without this
-- the tokens table grows by one row per run for ever. The cleanup job
-- finds them by this small partial index, which holds federation tokens
-- only, instead of scanning every token.

-- +goose Up
CREATE INDEX tokens_fed_expiry ON tokens (expires_at) WHERE kind = 'fed';
