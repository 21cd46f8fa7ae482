-- Several keys per purpose over time: a key signs from activates_at (the first key
-- of a purpose: 0) and is published until retires_at. SQLite cannot drop the
-- UNIQUE on purpose, so the table is rebuilt.
CREATE TABLE signing_keys_new (
    id           TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    private_key  TEXT NOT NULL, -- sealed PKCS#8 PEM
    certificate  TEXT,
    created_at   BIGINT NOT NULL,
    activates_at BIGINT NOT NULL DEFAULT 0,
    retires_at   BIGINT
);
INSERT INTO signing_keys_new (id, purpose, private_key, certificate, created_at)
    SELECT id, purpose, private_key, certificate, created_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
-- One first key per purpose however many instances start at once, and one
-- successor scheduled per instant.
CREATE UNIQUE INDEX signing_keys_purpose_activates ON signing_keys (purpose, activates_at);
