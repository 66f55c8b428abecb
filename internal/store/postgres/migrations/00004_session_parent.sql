-- Sessions minted at /cli-auth remember the console session that minted
-- them, so that logging out of the console also ends them.

-- +goose Up
ALTER TABLE sessions ADD COLUMN parent_id text COLLATE "C" REFERENCES sessions (id) ON DELETE SET NULL;

CREATE INDEX sessions_parent ON sessions (parent_id) WHERE parent_id IS NOT NULL;
