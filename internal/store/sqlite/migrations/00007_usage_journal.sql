-- The usage journal (issue 16): large batches of token uses are appended
-- here (sequential pages) and folded into tokens and token_usage in the
-- tokens' row order every minute or so, so that a page of a large tokens
-- table is rewritten once per fold rather than once per flush. usage_fold
-- records how far an interrupted fold got, so a restart neither loses nor
-- counts twice what it had applied.

-- +goose Up
CREATE TABLE token_use_journal (
    seq      INTEGER PRIMARY KEY,
    token_id TEXT    NOT NULL,
    use      TEXT    NOT NULL -- JSON: see journalUse in usage_journal.go
) STRICT;

CREATE TABLE usage_fold (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    upto      INTEGER NOT NULL, -- journal rows with seq <= upto are being folded
    after_rid INTEGER NOT NULL  -- those of tokens with rowid <= after_rid are applied
) STRICT;
