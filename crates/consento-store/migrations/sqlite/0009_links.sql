-- The keyring of the personal links in emails (unsubscribe, preference center), SQLite. Keep in
-- step with postgres/0009_links.sql. A link carries its key's id and is sealed with it: the
-- newest key not retired seals new links, every key not retired still opens old ones (a key
-- rotation keeps the links of mails already sent working); a retired key opens nothing again.
CREATE TABLE link_keys (
    id INTEGER PRIMARY KEY,
    secret BLOB NOT NULL CHECK (length(secret) = 32),
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
