-- Consent type codes are unique whatever their case: `promo_sms` beside `PROMO_SMS` would be
-- two consents that people, operators and integrations cannot tell apart. Codes are ASCII
-- (letters, digits, `_`, `-`, `.`), so lower() folds them alike on SQLite and PostgreSQL.
--
-- Types whose codes already differ only in case are kept as they are: the ledger cites their
-- codes, and a code in use never changes. Of each such group the oldest type stays under the
-- index and the others are marked `code_case_clash` and left out of it; every type created
-- afterwards, and every code changed (which clears the mark), is checked against all of them.
-- Keep in step with sqlite/0020_code_case.sql.
ALTER TABLE consent_types ADD COLUMN code_case_clash BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE consent_types SET code_case_clash = TRUE
    WHERE EXISTS (
        SELECT 1 FROM consent_types o
        WHERE lower(o.code) = lower(consent_types.code)
            AND (o.created_at < consent_types.created_at
                OR (o.created_at = consent_types.created_at AND o.code < consent_types.code))
    );
CREATE UNIQUE INDEX consent_types_code_folded ON consent_types (lower(code)) WHERE NOT code_case_clash;
