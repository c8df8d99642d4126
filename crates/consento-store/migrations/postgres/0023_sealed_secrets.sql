-- Secrets sealed under the master key kept outside the database, PostgreSQL. Keep in step with
-- sqlite/0023_sealed_secrets.sql. A sealed value is longer than the 32 bytes it hides, so the
-- keyrings lose their length checks. `key_check` is a known value sealed under the master key:
-- a start with another key is refused instead of misreading every secret. It is empty until
-- the first start that has a master key, which seals the secrets still in clear
-- (store/src/sealing.rs).
ALTER TABLE instance ADD COLUMN key_check BYTEA;
ALTER TABLE link_keys DROP CONSTRAINT IF EXISTS link_keys_secret_check;
ALTER TABLE receipt_keys DROP CONSTRAINT IF EXISTS receipt_keys_seed_check;
