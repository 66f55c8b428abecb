-- The name the identity provider knows a person by, exactly as it sent it
-- (the SCIM userName, or the username claim of the sign-in that created the
-- account). The user name Latchkey derives from it is lossy: josé@corp.com
-- and josè@corp.com both become jos--corp.com, so without the original a
-- SCIM filter for one person found the other.
--
-- idp_user_name_fold is the key it is compared by, ignoring case
-- (store.FoldUserName, computed in Go: PostgreSQL's lower() depends on the
-- database's locale, and SQLite's must give the same answers).
-- Existing rows keep NULL: nobody knows what the provider sent for them,
-- and the service matches such "legacy" accounts by user name only where
-- that is unambiguous, until the provider's next PUT or PATCH by id
-- records it.

-- +goose Up
ALTER TABLE users ADD COLUMN idp_user_name text;
ALTER TABLE users ADD COLUMN idp_user_name_fold text COLLATE "C";

-- One live person per provider user name, ignoring case, as SCIM requires
-- of userName (uniqueness "server").
CREATE UNIQUE INDEX users_idp_user_name_live ON users (idp_user_name_fold)
    WHERE deleted_at IS NULL AND idp_user_name_fold IS NOT NULL;
