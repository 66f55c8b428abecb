-- The current day's request count of a token, in its token_last_use row
-- (issue 16).
--
-- A usage fold used to write two rows for each token it applied: the last
-- use, and the day's count in token_usage, each with its own B-tree
-- search and foreign-key probe. A token used in every fold of a day (a
-- million tokens each used now and then, folded every few seconds) paid
-- both each time. Now the row of the last use also counts the latest day
-- it was used on; the count moves to token_usage, added to what is there,
-- when a use of a later day comes. Counts of an earlier day go to
-- token_usage directly. The usage API reads both.

-- +goose Up
ALTER TABLE token_last_use ADD COLUMN day TEXT NOT NULL DEFAULT '';
ALTER TABLE token_last_use ADD COLUMN day_count INTEGER NOT NULL DEFAULT 0;
