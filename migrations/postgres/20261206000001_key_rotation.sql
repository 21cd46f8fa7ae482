-- Several keys per purpose over time: a key signs from activates_at (the first key
-- of a purpose: 0) and is published until retires_at.
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_purpose_key;
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN retires_at BIGINT;
-- One first key per purpose however many instances start at once, and one
-- successor scheduled per instant.
CREATE UNIQUE INDEX signing_keys_purpose_activates ON signing_keys (purpose, activates_at);
