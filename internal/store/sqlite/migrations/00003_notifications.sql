-- Notices sent about a token's expiry: one row per (token, kind, expiry),
-- inserted before sending, so restarts and replicas never send the same
-- notice twice. The expiry is part of the key: a token regenerated with a
-- new expiry gets fresh reminders.

-- +goose Up
CREATE TABLE notifications (
    token_id   TEXT    NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    sent_at    INTEGER NOT NULL,
    PRIMARY KEY (token_id, kind, expires_at)
) STRICT, WITHOUT ROWID;

-- Forgetting claims about long-past expiries.
CREATE INDEX notifications_expires_at ON notifications (expires_at);
