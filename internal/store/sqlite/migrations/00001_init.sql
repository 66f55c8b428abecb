-- Latchkey schema, SQLite dialect.
-- Times are INTEGER unix microseconds, UTC. Lists are JSON arrays as TEXT.
-- Durations are INTEGER nanoseconds. Tables are STRICT so a wrong type fails
-- loudly instead of being stored.

-- +goose Up
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    login_type    TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL DEFAULT '',
    suspended     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER
) STRICT;

-- Usernames are unique, ignoring case, among users that are not deleted, so
-- a deleted user's name can be taken again.
CREATE UNIQUE INDEX users_username_live ON users (lower(username)) WHERE deleted_at IS NULL;

CREATE TABLE tokens (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    kind            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    scopes          TEXT    NOT NULL DEFAULT '[]',
    digest          BLOB    NOT NULL UNIQUE,
    hint            TEXT    NOT NULL DEFAULT '',
    prev_digest     BLOB,
    prev_expires_at INTEGER,
    ip_allowlist    TEXT    NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER,
    regenerated_at  INTEGER,
    last_used_at    INTEGER,
    last_used_ip    TEXT    NOT NULL DEFAULT '',
    last_used_agent TEXT    NOT NULL DEFAULT '',
    recent_ips      TEXT    NOT NULL DEFAULT '[]'
) STRICT;

-- Verification looks a secret up by its previous digest during a grace
-- period; only regenerated tokens have one, so the index stays small.
CREATE INDEX tokens_prev_digest ON tokens (prev_digest) WHERE prev_digest IS NOT NULL;
-- A name is unique per owner among live tokens: a revoked token's name can be
-- reused. The index also serves "all live tokens of a user".
CREATE UNIQUE INDEX tokens_user_name_live ON tokens (user_id, name) WHERE revoked_at IS NULL;
-- Listing one user's tokens, newest first.
CREATE INDEX tokens_user_id ON tokens (user_id, id);

CREATE TABLE token_usage (
    token_id TEXT    NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    day      TEXT    NOT NULL, -- UTC date, 2006-01-02
    count    INTEGER NOT NULL,
    PRIMARY KEY (token_id, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    digest       BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    agent        TEXT    NOT NULL DEFAULT '',
    revoked_at   INTEGER
) STRICT;

CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE policy (
    id                INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    default_lifetime  INTEGER NOT NULL,
    max_lifetime      INTEGER NOT NULL,
    allow_no_expiry   INTEGER NOT NULL,
    creation          TEXT    NOT NULL,
    revoke_unused_for INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- Append-only: the store has no method that updates or deletes an event.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor_id    TEXT    NOT NULL DEFAULT '',
    actor_name  TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL DEFAULT '',
    target_id   TEXT    NOT NULL DEFAULT '',
    ip          TEXT    NOT NULL DEFAULT '',
    agent       TEXT    NOT NULL DEFAULT '',
    details     TEXT -- JSON object, NULL when there are none
) STRICT;

CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_target ON audit_events (target_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE signing_keys (
    id          TEXT    NOT NULL PRIMARY KEY,
    algorithm   TEXT    NOT NULL,
    public_jwk  BLOB    NOT NULL,
    private_enc BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
) STRICT;
