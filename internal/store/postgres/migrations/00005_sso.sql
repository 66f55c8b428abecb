-- Single sign-on (issue 13): identities at external providers, SCIM groups
-- and their members, and RFC 8628 device codes (stored as digests only).

-- +goose Up
CREATE TABLE identities (
    provider      text        NOT NULL,
    subject       text        NOT NULL,
    user_id       text COLLATE "C" NOT NULL REFERENCES users (id),
    email         text        NOT NULL DEFAULT '',
    claims        text[]      NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    last_login_at timestamptz,
    PRIMARY KEY (provider, subject)
);

-- A user has at most one identity per provider.
CREATE UNIQUE INDEX identities_user_provider ON identities (user_id, provider);

CREATE TABLE scim_groups (
    id           text COLLATE "C" PRIMARY KEY,
    display_name text        NOT NULL,
    external_id  text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE UNIQUE INDEX scim_groups_display_name ON scim_groups (lower(display_name));

CREATE TABLE scim_group_members (
    group_id text COLLATE "C" NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  text COLLATE "C" NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX scim_group_members_user ON scim_group_members (user_id);

CREATE TABLE device_codes (
    id             text COLLATE "C" PRIMARY KEY,
    device_digest  bytea       NOT NULL UNIQUE,
    user_digest    bytea       NOT NULL UNIQUE,
    client_id      text        NOT NULL,
    status         text        NOT NULL,
    user_id        text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    interval_ns    bigint      NOT NULL,
    last_polled_at timestamptz
);

CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
