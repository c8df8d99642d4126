-- The decision change log on PostgreSQL (postgres/0035_decision_changes.sql). SQLite has had its
-- own since migrations 0017 and 0031. Nothing to change.
SELECT 1;
