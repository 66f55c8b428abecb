-- Users get an optional email address, where expiry reminders and leak
-- notices go. Empty means none.

-- +goose Up
ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '';
