-- The data controller's facts as the administrator gave them on the first run (the console's
-- first-run page, `consento init --controller-name …`), SQLite. Keep in step with
-- postgres/0020_controller.sql. One row; a fact not given is NULL. The configuration's
-- `[controller]` values, when set, win over these (the application merges them); exports,
-- receipts and the public pages name the controller from the merge (GDPR Art. 13(1)(a)–(b)).
CREATE TABLE controller (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT,
    address TEXT,
    email TEXT,
    dpo_contact TEXT,
    privacy_notice_url TEXT,
    updated_at BIGINT NOT NULL
);
INSERT INTO controller (id, updated_at) VALUES (1, 0);
