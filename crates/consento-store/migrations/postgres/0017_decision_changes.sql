-- The decision change log (sqlite/0017) is SQLite's alone: PostgreSQL decisions read the database
-- every time, since a sequence there can commit out of order and a log of positions would miss
-- changes. Nothing to create.
SELECT 1;
