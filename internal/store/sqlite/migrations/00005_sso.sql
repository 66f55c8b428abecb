-- Single sign-on (issue 13): identities at external providers, SCIM groups
-- and their members, and RFC 8628 device codes (stored as digests only).

-- +goose Up
CREATE TABLE identities (
    provider      TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    email         TEXT    NOT NULL DEFAULT '',
    claims        TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER,
    PRIMARY KEY (provider, subject)
) STRICT;

-- A user has at most one identity per provider.
CREATE UNIQUE INDEX identities_user_provider ON identities (user_id, provider);

CREATE TABLE scim_groups (
    id           TEXT    NOT NULL PRIMARY KEY,
    display_name TEXT    NOT NULL,
    external_id  TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX scim_groups_display_name ON scim_groups (lower(display_name));

CREATE TABLE scim_group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX scim_group_members_user ON scim_group_members (user_id);

CREATE TABLE device_codes (
    id             TEXT    NOT NULL PRIMARY KEY,
    device_digest  BLOB    NOT NULL UNIQUE,
    user_digest    BLOB    NOT NULL UNIQUE,
    client_id      TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    interval_ns    INTEGER NOT NULL,
    last_polled_at INTEGER
) STRICT;

CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
