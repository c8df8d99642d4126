-- A relay token's own default action, PostgreSQL. Keep in step with
-- sqlite/0033_token_relay_action.sql.
-- A newsletter tool's token may say that its messages are bulk even when they carry none of a
-- mailing list's marks (List-Id, Precedence); absent, the relay's configured default applies.
ALTER TABLE api_tokens ADD COLUMN relay_action TEXT CHECK (relay_action IN ('email.single', 'email.bulk'));
