-- Names as searches compare them (lower case, Latin accents off), computed by the store from the
-- name (the domain's fold_for_search): SQLite's lower() folds ASCII only, so a search for
-- "nicolò" would miss "NICOLÒ" there and not on PostgreSQL. Filled for existing rows at start.
-- The CHECK keeps it personal data of the same life as the name: clearing a name (erasure,
-- GDPR Art. 17) must clear this too, or the database refuses.
ALTER TABLE contacts ADD COLUMN name_folded TEXT CHECK (name_folded IS NULL OR name IS NOT NULL);
