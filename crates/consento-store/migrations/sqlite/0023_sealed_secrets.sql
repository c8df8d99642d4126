-- Secrets sealed under the master key kept outside the database, SQLite. Keep in step with
-- postgres/0023_sealed_secrets.sql. A sealed value is longer than the 32 bytes it hides, so the
-- keyrings lose their length checks (SQLite cannot drop a CHECK: the tables are rebuilt, ids
-- kept). `key_check` is a known value sealed under the master key: a start with another key
-- is refused instead of misreading every secret. It is empty until the first start that has
-- a master key, which seals the secrets still in clear (store/src/sealing.rs).
ALTER TABLE instance ADD COLUMN key_check BLOB;

CREATE TABLE link_keys_sealed (
    id INTEGER PRIMARY KEY,
    secret BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
INSERT INTO link_keys_sealed (id, secret, created_at, retired_at)
    SELECT id, secret, created_at, retired_at FROM link_keys;
DROP TABLE link_keys;
ALTER TABLE link_keys_sealed RENAME TO link_keys;

CREATE TABLE receipt_keys_sealed (
    id INTEGER PRIMARY KEY,
    kid TEXT NOT NULL UNIQUE,
    seed BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
INSERT INTO receipt_keys_sealed (id, kid, seed, created_at, retired_at)
    SELECT id, kid, seed, created_at, retired_at FROM receipt_keys;
DROP TABLE receipt_keys;
ALTER TABLE receipt_keys_sealed RENAME TO receipt_keys;
