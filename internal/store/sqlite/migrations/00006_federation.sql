-- Workload identity federation (DESIGN §2): trust policies, the OIDC token
-- ids already exchanged (replay protection shared by every replica), and
-- the policy and matched claims of each fed token.

-- +goose Up
CREATE TABLE federation_policies (
    id                 TEXT    NOT NULL PRIMARY KEY,
    name               TEXT    NOT NULL,
    description        TEXT    NOT NULL DEFAULT '',
    issuer             TEXT    NOT NULL,
    audience           TEXT    NOT NULL,
    conditions         TEXT    NOT NULL DEFAULT '{}', -- JSON object claim -> exact value or glob
    service_account_id TEXT    NOT NULL REFERENCES users (id),
    scopes             TEXT    NOT NULL DEFAULT '[]',
    max_lifetime       INTEGER NOT NULL DEFAULT 0, -- nanoseconds; 0 = default
    disabled           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX federation_policies_name ON federation_policies (lower(name));
CREATE INDEX federation_policies_issuer ON federation_policies (issuer);

-- One row per exchanged OIDC token, kept until the token expires.
CREATE TABLE federation_jtis (
    issuer     TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, jti)
) STRICT, WITHOUT ROWID;

CREATE INDEX federation_jtis_expires_at ON federation_jtis (expires_at);

ALTER TABLE tokens ADD COLUMN federation_policy_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN federation_claims TEXT NOT NULL DEFAULT '{}';

-- Revoking every live token a policy issued.
CREATE INDEX tokens_federation_policy ON tokens (federation_policy_id) WHERE federation_policy_id <> '';
