-- The signing keys of consent receipts (Ed25519, RFC 8037), SQLite. Keep in step with
-- postgres/0013_receipts.sql. The newest key not retired signs new receipts; every key, retired
-- or not, stays published in the JWKS (`/.well-known/jwks.json`, RFC 7517) so that a receipt
-- signed years ago still verifies. `kid` is the JWS header's key id; `seed` the 32-byte private
-- seed (RFC 8032 §5.1.5), never shown.
CREATE TABLE receipt_keys (
    id INTEGER PRIMARY KEY,
    kid TEXT NOT NULL UNIQUE,
    seed BLOB NOT NULL CHECK (length(seed) = 32),
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
