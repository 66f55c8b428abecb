-- The last use of each token in a narrow table of its own (issue 16).
--
-- Usage tracking rewrites a token's last use on its first use in every
-- fold of the usage journal (about once a minute). In the tokens row, four
-- columns among twenty-two, that rewrote pages of the whole table: at 1M
-- tokens a fold of 250,000 uses touched nearly every page of a 206 MB
-- table, each written to the WAL and copied back. Here a row is the token's
-- id and its last use only; the tokens rows no longer change when a token
-- is used. Verification does not read this table (the store decides what a
-- new address is when it writes a use); the API's token views join it.

-- +goose Up
CREATE TABLE token_last_use (
    token_id        TEXT    NOT NULL PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
    last_used_at    INTEGER,
    last_used_ip    TEXT    NOT NULL DEFAULT '',
    last_used_agent TEXT    NOT NULL DEFAULT '',
    recent_ips      TEXT    NOT NULL DEFAULT '[]'
) STRICT, WITHOUT ROWID;

INSERT INTO token_last_use (token_id, last_used_at, last_used_ip, last_used_agent, recent_ips)
SELECT id, last_used_at, last_used_ip, last_used_agent, recent_ips FROM tokens
WHERE last_used_at IS NOT NULL OR last_used_ip <> '' OR last_used_agent <> '' OR recent_ips <> '[]'
ORDER BY id;

ALTER TABLE tokens DROP COLUMN last_used_at;
ALTER TABLE tokens DROP COLUMN last_used_ip;
ALTER TABLE tokens DROP COLUMN last_used_agent;
ALTER TABLE tokens DROP COLUMN recent_ips;
