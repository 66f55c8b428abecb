-- Workload identity federation (DESIGN §2): trust policies, the OIDC token
-- ids already exchanged (replay protection shared by every replica), and
-- the policy and matched claims of each fed token.

-- +goose Up
CREATE TABLE federation_policies (
    id                 text COLLATE "C" PRIMARY KEY,
    name               text        NOT NULL,
    description        text        NOT NULL DEFAULT '',
    issuer             text        NOT NULL,
    audience           text        NOT NULL,
    conditions         text        NOT NULL DEFAULT '{}', -- JSON object claim -> exact value or glob
    service_account_id text COLLATE "C" NOT NULL REFERENCES users (id),
    scopes             text[]      NOT NULL DEFAULT '{}',
    max_lifetime       bigint      NOT NULL DEFAULT 0, -- nanoseconds; 0 = default
    disabled           boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);

CREATE UNIQUE INDEX federation_policies_name ON federation_policies (lower(name));
CREATE INDEX federation_policies_issuer ON federation_policies (issuer);

-- One row per exchanged OIDC token, kept until the token expires.
CREATE TABLE federation_jtis (
    issuer     text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, jti)
);

CREATE INDEX federation_jtis_expires_at ON federation_jtis (expires_at);

ALTER TABLE tokens ADD COLUMN federation_policy_id text NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN federation_claims text NOT NULL DEFAULT '{}';

-- Revoking every live token a policy issued.
CREATE INDEX tokens_federation_policy ON tokens (federation_policy_id) WHERE federation_policy_id <> '';
