-- The facts a call at the ring reads join the decision change log on SQLite (sqlite/0031), which
-- is SQLite's alone (see postgres/0017): PostgreSQL reads them from the database at every call.
-- Nothing to create.
SELECT 1;
