-- Latchkey schema, PostgreSQL dialect.
-- Objects are created unqualified, in the first schema of the search_path.
-- IDs use the "C" collation so they order by bytes (UUIDv7 order) whatever
-- the database's locale. Times are timestamptz (microseconds); durations
-- are bigint nanoseconds.

-- +goose Up
CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    username      text        NOT NULL,
    role          text        NOT NULL,
    kind          text        NOT NULL,
    login_type    text        NOT NULL DEFAULT '',
    password_hash text        NOT NULL DEFAULT '',
    suspended     boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted_at    timestamptz
);

-- Usernames are unique, ignoring case, among users that are not deleted, so
-- a deleted user's name can be taken again.
CREATE UNIQUE INDEX users_username_live ON users (lower(username)) WHERE deleted_at IS NULL;

CREATE TABLE tokens (
    id              text COLLATE "C" PRIMARY KEY,
    user_id         text COLLATE "C" NOT NULL REFERENCES users (id),
    kind            text        NOT NULL,
    name            text        NOT NULL,
    description     text        NOT NULL DEFAULT '',
    scopes          text[]      NOT NULL DEFAULT '{}',
    digest          bytea       NOT NULL UNIQUE,
    hint            text        NOT NULL DEFAULT '',
    prev_digest     bytea,
    prev_expires_at timestamptz,
    ip_allowlist    text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    regenerated_at  timestamptz,
    last_used_at    timestamptz,
    last_used_ip    text        NOT NULL DEFAULT '',
    last_used_agent text        NOT NULL DEFAULT '',
    recent_ips      text[]      NOT NULL DEFAULT '{}'
);

-- Verification looks a secret up by its previous digest during a grace
-- period; only regenerated tokens have one, so the index stays small.
CREATE INDEX tokens_prev_digest ON tokens (prev_digest) WHERE prev_digest IS NOT NULL;
-- A name is unique per owner among live tokens: a revoked token's name can be
-- reused. The index also serves "all live tokens of a user".
CREATE UNIQUE INDEX tokens_user_name_live ON tokens (user_id, name) WHERE revoked_at IS NULL;
-- Listing one user's tokens, newest first.
CREATE INDEX tokens_user_id ON tokens (user_id, id);

CREATE TABLE token_usage (
    token_id text COLLATE "C" NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    day      date   NOT NULL, -- UTC date
    count    bigint NOT NULL,
    PRIMARY KEY (token_id, day)
);

CREATE TABLE sessions (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id),
    digest       bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ip           text        NOT NULL DEFAULT '',
    agent        text        NOT NULL DEFAULT '',
    revoked_at   timestamptz
);

CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE policy (
    id                integer     PRIMARY KEY CHECK (id = 1),
    default_lifetime  bigint      NOT NULL,
    max_lifetime      bigint      NOT NULL,
    allow_no_expiry   boolean     NOT NULL,
    creation          text        NOT NULL,
    revoke_unused_for bigint      NOT NULL,
    updated_at        timestamptz NOT NULL
);

-- Append-only: the store has no method that updates or deletes an event.
CREATE TABLE audit_events (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    text COLLATE "C" NOT NULL DEFAULT '',
    actor_name  text        NOT NULL DEFAULT '',
    action      text COLLATE "C" NOT NULL,
    target_type text        NOT NULL DEFAULT '',
    target_id   text COLLATE "C" NOT NULL DEFAULT '',
    ip          text        NOT NULL DEFAULT '',
    agent       text        NOT NULL DEFAULT '',
    details     jsonb -- NULL when there are none
);

CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_target ON audit_events (target_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE signing_keys (
    id          text COLLATE "C" PRIMARY KEY,
    algorithm   text        NOT NULL,
    public_jwk  bytea       NOT NULL,
    private_enc bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);
