-- Bulk loads through COPY, PostgreSQL. Keep in step with sqlite/0034_copy_loads.sql (which has
-- nothing to do: its import drops and restores the triggers inside its own transaction).
--
-- A bulk load (an import, the demo data set) holds the ledger head's row lock for its whole
-- transaction, chains its events itself, checks their consent types once (locking those rows
-- until it commits), skips erased people as it matches them, and writes the current states the
-- projection would leave, all for the whole load at once (pgcopy.rs). It says so with
-- `SET LOCAL consento.bulk_load = 'copy'`, and the two per-row triggers below then stay out of
-- its way: calling a PL/pgSQL function for each of millions of rows costs more than the rows'
-- own writes. The WHEN clause is evaluated by the executor without calling the function, and an
-- AFTER trigger whose WHEN is false is not even queued. Every other writer still goes through
-- both triggers, the append-only triggers (UPDATE, DELETE, TRUNCATE refused) are untouched, and
-- the setting ends with the transaction that set it.
DROP TRIGGER consent_events_chain ON consent_events;
CREATE TRIGGER consent_events_chain BEFORE INSERT ON consent_events
    FOR EACH ROW WHEN (current_setting('consento.bulk_load', true) IS DISTINCT FROM 'copy')
    EXECUTE FUNCTION consento_chain_event();
DROP TRIGGER consent_events_project ON consent_events;
CREATE TRIGGER consent_events_project AFTER INSERT ON consent_events
    FOR EACH ROW WHEN (current_setting('consento.bulk_load', true) IS DISTINCT FROM 'copy')
    EXECUTE FUNCTION consento_project_event();
